/// <reference types="node" />
/**
 * The HTTP/2 sink both clients of the h2 bench send to: Node's `http2.createServer` with prior
 * knowledge on 127.0.0.1, in its own process (run.ts forks it) so that it takes no CPU from the
 * Node client measured in the runner's process.
 *
 * It answers `POST /3/device/<64 hex>` as APNs answers a notification it takes: 200, an empty
 * body and the request's `apns-id`, once the whole body is in. A request that is not shaped like
 * the adapter's (headers, token, body length) gets 400 `BadPath` and is counted, so a client that
 * sent the wrong thing fast cannot pass. Nothing else is checked: this measures clients, and a
 * JWT verification per request would make the sink the bottleneck of both.
 *
 * `SINK_MAX_STREAMS` is its SETTINGS_MAX_CONCURRENT_STREAMS. Over IPC the runner sends `reset`
 * before a run and `stats` after it; the sink answers with what it saw in between.
 */
import { constants, createServer, type IncomingHttpHeaders } from 'node:http2'
import { SinkCommand, type SinkListening, type SinkStats } from './ipc'
import { BUNDLE_ID } from './protocol'

const PATH = /^\/3\/device\/[0-9a-f]{64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const maxStreams = Number(process.env.SINK_MAX_STREAMS ?? 1000)
let stats = fresh()
let inFlight = 0
let cpuAtReset = process.cpuUsage()

function fresh(): SinkStats {
  return { ok: 0, bad: {}, sessions: 0, maxInFlight: 0, cpuMs: 0 }
}

const server = createServer({ settings: { maxConcurrentStreams: maxStreams } })
server.on('session', () => {
  stats.sessions++
})
server.on('stream', (stream, headers) => {
  inFlight++
  stats.maxInFlight = Math.max(stats.maxInFlight, inFlight)
  let received = 0
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length
  })
  stream.on('end', () => {
    const problem = check(headers, received)
    if (problem) {
      stats.bad[problem] = (stats.bad[problem] ?? 0) + 1
      stream.respond({ ':status': 400, 'content-type': 'application/json' })
      stream.end('{"reason":"BadPath"}')
      return
    }
    stats.ok++
    stream.respond({ ':status': 200, 'apns-id': String(headers['apns-id']) }, { endStream: true })
  })
  stream.on('close', () => {
    inFlight--
  })
  stream.on('error', () => undefined)
})

/** What is wrong with a request, if anything. */
function check(headers: IncomingHttpHeaders, received: number): string | undefined {
  if (headers[constants.HTTP2_HEADER_METHOD] !== 'POST') return 'method'
  if (!PATH.test(String(headers[constants.HTTP2_HEADER_PATH]))) return 'path'
  if (!String(headers.authorization).startsWith('bearer ey')) return 'authorization'
  if (headers['apns-topic'] !== BUNDLE_ID) return 'apns-topic'
  if (headers['apns-push-type'] !== 'alert') return 'apns-push-type'
  if (!UUID.test(String(headers['apns-id']))) return 'apns-id'
  if (Number(headers['content-length']) !== received || received < 100) return 'body'
  return undefined
}

process.on('message', (message) => {
  const command = SinkCommand.parse(message)
  if (command.type === 'reset') {
    stats = fresh()
    cpuAtReset = process.cpuUsage()
    return
  }
  const cpu = process.cpuUsage(cpuAtReset)
  const reply: SinkStats = { ...stats, cpuMs: (cpu.user + cpu.system) / 1000 }
  process.send?.(reply)
})
// The runner going away, however it ends, ends the sink.
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  const reply: SinkListening = { port: typeof address === 'object' && address ? address.port : 0 }
  process.send?.(reply)
})
