/// <reference types="node" />
/**
 * What one outbound request costs workerd, apart from any network's own work: the bench's
 * Worker POSTs an FCM-sized JSON body once per subscription to a bare Node server on this
 * machine (it reads the body and answers a fixed 200), `inFlight` at a time, as the adapters do.
 * The CPU of workerd and of the server per request is the floor under every delivery of the
 * pipeline bench, whose fakes do much more per request.
 *
 * The server also counts the connections workerd opens and how many it has open at once. Asked
 * for more than 6 requests at a time, workerd opens no more than the Workers limit of 6
 * simultaneous open connections per invocation if it enforces that limit locally.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EncryptRequest } from './encrypt-worker'
import { median } from './encryption'
import type { DevWorker } from './wrangler-dev'

export type RequestCost = {
  inFlight: number
  requests: number
  /** Elapsed µs per request (median round), the request to the Worker itself taken out. */
  us: number
  workerdCpuUs: number
  serverCpuUs: number
  /** Most connections workerd had open to the server at once. */
  connections: number
}

export async function benchRequests(
  worker: DevWorker,
  opts: { requests: number; rounds: number; inFlight: number },
): Promise<RequestCost> {
  // The Worker sends one request per entry; what the entries hold does not matter here.
  const subscriptions = Array.from({ length: opts.requests }, () => ({
    endpoint: '',
    keys: { p256dh: '', auth: '' },
  }))
  const server = await startServer()
  try {
    const post = async (op: 'fetch' | 'none') => {
      const request: EncryptRequest = {
        subscriptions,
        payload: 'x'.repeat(200),
        op,
        target: server.url,
        inFlight: opts.inFlight,
      }
      const cpu = { workerd: await worker.workerdCpuMs(), node: process.cpuUsage() }
      const t = performance.now()
      const res = await fetch(worker.url, { method: 'POST', body: JSON.stringify(request) })
      await res.json()
      const ms = performance.now() - t
      const node = process.cpuUsage(cpu.node)
      return {
        ms,
        workerdMs: (await worker.workerdCpuMs()) - cpu.workerd,
        nodeMs: (node.user + node.system) / 1000,
      }
    }
    await post('fetch') // warm-up: connections, JIT
    server.resetPeak()
    const elapsed: number[] = []
    const cpu = { workerd: 0, node: 0 }
    for (let r = 0; r < opts.rounds; r++) {
      const none = await post('none')
      const full = await post('fetch')
      elapsed.push(((full.ms - none.ms) * 1000) / subscriptions.length)
      cpu.workerd += full.workerdMs - none.workerdMs
      cpu.node += full.nodeMs - none.nodeMs
    }
    const total = subscriptions.length * opts.rounds
    return {
      inFlight: opts.inFlight,
      requests: subscriptions.length,
      us: median(elapsed),
      workerdCpuUs: (cpu.workerd * 1000) / total,
      serverCpuUs: (cpu.node * 1000) / total,
      connections: server.peak(),
    }
  } finally {
    await server.close()
  }
}

async function startServer() {
  let open = 0
  let peak = 0
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"name":"projects/bench/messages/0:1"}')
    })
  })
  server.on('connection', (socket) => {
    open += 1
    peak = Math.max(peak, open)
    socket.on('close', () => {
      open -= 1
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/projects/bench/messages:send`,
    peak: () => peak,
    resetPeak: () => {
      peak = open
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
