/// <reference types="node" />
/**
 * The reference row of the h2 bench: Node's own `http2.connect()` (nghttp2 underneath) sending
 * the same notifications as the Worker's client, over one session, with the same number in flight
 * (`window` lanes, each sending its next request when its last is answered). Timed from
 * `connect()` to the last answer, which, like the Worker's run, includes opening the connection.
 *
 * run.ts forks this file once and asks for each run over IPC, so that the client has a process
 * of its own, as workerd has, and nothing of wrangler's runs beside it; like workerd's isolate,
 * the process stays up from the warm-up to the last run.
 */
import { connect } from 'node:http2'
import { type NodeRun, NodeRunRequest } from './ipc'
import { deviceToken, notification } from './protocol'

export async function nodeRun(input: NodeRunRequest): Promise<NodeRun> {
  const { body, headers } = notification(input.run, Date.now())
  // The Worker's client adds content-length to a request with a body; so does this one.
  const fixed = {
    ...headers,
    authorization: `bearer ${input.bearer}`,
    'content-length': String(Buffer.byteLength(body)),
  }
  const result: NodeRun = { ok: 0, other: {}, ms: 0, cpuMs: 0 }
  const cpu = process.cpuUsage()
  const started = performance.now()
  const session = connect(input.sink)
  session.on('error', () => undefined)

  const send = (index: number) =>
    new Promise<number | string>((resolve) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': `/3/device/${deviceToken(input.run, index)}`,
        ...fixed,
        'apns-id': crypto.randomUUID(),
      })
      let status = 0
      stream.on('response', (head) => {
        status = Number(head[':status'])
      })
      stream.on('data', () => undefined)
      stream.on('end', () => resolve(status))
      stream.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      stream.end(body)
    })

  let next = 0
  const lane = async () => {
    while (next < input.count) {
      const outcome = await send(next++)
      if (outcome === 200) result.ok++
      else result.other[String(outcome)] = (result.other[String(outcome)] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: Math.min(input.window, input.count) }, lane))
  result.ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  result.cpuMs = (used.user + used.system) / 1000
  await new Promise<void>((resolve) => session.close(() => resolve()))
  return result
}

process.on('message', (message) => {
  nodeRun(NodeRunRequest.parse(message)).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String(error) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ ready: true })
