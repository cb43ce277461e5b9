/// <reference types="node" />
/**
 * HTTP/2 servers in Node (`node:http2`, that is nghttp2: an implementation independent of the
 * Worker's client) for the tests of src/networks/apns/h2. They speak h2c with prior knowledge on
 * 127.0.0.1, enforce what a real server enforces (nghttp2 refuses streams over its
 * MAX_CONCURRENT_STREAMS, frames over the frame size, DATA over its windows, bad HPACK) and
 * Huffman-encode header strings whenever that is shorter, as nghttp2 always does.
 *
 * A control server (HTTP/1.1, so that a Worker's fetch reaches it) makes one HTTP/2 server per
 * test with the behaviour that test needs:
 *   POST   /servers          ServerConfig → 201 {id, url}
 *   GET    /servers/:id      → Stats (below)
 *   GET    /servers/:id/sent → every octet the server sent (servers made with `record`)
 *   POST   /servers/:id/ping → {acked, ms}: the server PINGs each client connection
 *   DELETE /servers/:id      → closes it
 *
 * Paths on an HTTP/2 server, any method:
 *   /echo    200 JSON {method, path, authority, scheme, headers, bodyBytes, bodySha256, streamId};
 *            response headers `apns-id` and `x-echo-path`. Query: `delay` (ms before answering),
 *            `status` (answer code), `bytes` (answer that many octets instead of JSON: a
 *            repeating 0..250 pattern), `header-bytes` (add `x-big` of that many octets, more
 *            than one frame so that CONTINUATION is needed).
 *   /stall   never answers; the client has to give up.
 *   /reset   resets the stream with RST_STREAM `code` (query, default 2 INTERNAL_ERROR).
 *   other    404, and the request is kept in `unexpected`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import {
  constants,
  createServer as createH2Server,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2'
import { type AddressInfo, connect, createServer as createTcpServer, type Server } from 'node:net'
import { z } from 'zod'

export const ServerConfig = z.strictObject({
  /** SETTINGS_MAX_CONCURRENT_STREAMS of the server's first SETTINGS. Default 1000. */
  maxConcurrentStreams: z.number().int().min(0).optional(),
  /** After the first response has completed, a new SETTINGS raises the limit to this. */
  raiseMaxConcurrentStreamsTo: z.number().int().min(1).optional(),
  /** SETTINGS_INITIAL_WINDOW_SIZE: how much request body the client may send per stream. */
  initialWindowSize: z.number().int().min(0).optional(),
  /** When a connection's Nth stream arrives, GOAWAY with that stream as the last one processed. */
  goawayAfterStreams: z.number().int().min(1).optional(),
  /** Put a recording proxy in front, so `/sent` can show the octets as they went out. */
  record: z.boolean().optional(),
})
export type ServerConfig = z.infer<typeof ServerConfig>

export type Stats = {
  sessions: number
  /** Streams the server accepted (GOAWAY'd ones excluded). */
  streams: number
  /** Most streams open at once on one connection, over the server's life. */
  maxConcurrent: number
  /** The same, until the raise of `raiseMaxConcurrentStreamsTo` was sent. */
  maxConcurrentBeforeRaise: number
  raised: boolean
  /** Streams the client reset, with the code it sent. */
  resets: { streamId: number; code: number }[]
  unexpected: { method: string; path: string }[]
}

type FakeServer = {
  url: string
  stats: Stats
  sent: Buffer[]
  sessions: Set<Http2Session>
  close(): Promise<void>
}

export type FakeH2 = { url: string; close(): Promise<void> }

const RECORD_LIMIT = 1024 * 1024

export async function startFakeH2(): Promise<FakeH2> {
  const servers = new Map<string, FakeServer>()
  let origin = ''
  const control = createServer((req, res) => {
    handleControl(servers, req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error))
    })
  })
  await listen(control)
  origin = `http://127.0.0.1:${(control.address() as AddressInfo).port}`
  return {
    url: origin,
    close: async () => {
      await Promise.all([...servers.values()].map((server) => server.close()))
      control.closeAllConnections()
      await new Promise<void>((resolve) => control.close(() => resolve()))
    },
  }
}

async function handleControl(
  servers: Map<string, FakeServer>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const body = await readAll(req)
  const match = /^\/servers(?:\/([\w-]+))?(\/sent|\/ping)?$/.exec(req.url ?? '')
  const server = match?.[1] ? servers.get(match[1]) : undefined
  const json = (status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))

  if (req.method === 'POST' && match && !match[1]) {
    const config = ServerConfig.safeParse(JSON.parse(body.toString() || '{}'))
    if (!config.success) return json(400, { error: config.error.message })
    const id = randomUUID()
    const started = await startServer(config.data)
    servers.set(id, started)
    return json(201, { id, url: started.url })
  }
  if (!server) return json(404, { error: 'no such server' })
  if (req.method === 'GET' && match?.[2] === '/sent') {
    return res.writeHead(200).end(Buffer.concat(server.sent))
  }
  if (req.method === 'POST' && match?.[2] === '/ping') return json(200, await pingAll(server))
  if (req.method === 'GET') return json(200, server.stats)
  if (req.method === 'DELETE') {
    servers.delete(match?.[1] ?? '')
    await server.close()
    return json(200, {})
  }
  return json(405, {})
}

async function startServer(config: ServerConfig): Promise<FakeServer> {
  const h2 = createH2Server({
    settings: {
      maxConcurrentStreams: config.maxConcurrentStreams ?? 1000,
      ...(config.initialWindowSize === undefined
        ? {}
        : { initialWindowSize: config.initialWindowSize }),
    },
  })
  const fake: FakeServer = {
    url: '',
    sent: [],
    sessions: new Set(),
    stats: {
      sessions: 0,
      streams: 0,
      maxConcurrent: 0,
      maxConcurrentBeforeRaise: 0,
      raised: false,
      resets: [],
      unexpected: [],
    },
    close: async () => {},
  }
  h2.on('session', (session) => watchSession(fake, config, session))
  // A client that breaks the protocol loses its session; the test sees that, the run goes on.
  h2.on('sessionError', () => {})
  await listen(h2)
  let port = (h2.address() as AddressInfo).port
  const proxy = config.record ? await recordingProxy(port, fake.sent) : undefined
  if (proxy) port = (proxy.address() as AddressInfo).port
  fake.url = `http://127.0.0.1:${port}`
  fake.close = async () => {
    for (const session of fake.sessions) session.destroy()
    proxy?.close()
    await new Promise<void>((resolve) => h2.close(() => resolve()))
  }
  return fake
}

function watchSession(fake: FakeServer, config: ServerConfig, session: Http2Session) {
  const { stats } = fake
  fake.sessions.add(session)
  stats.sessions++
  session.on('close', () => fake.sessions.delete(session))
  session.on('error', () => {})
  let open = 0
  let accepted = 0
  let lastStreamId = Number.POSITIVE_INFINITY
  session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => {})
    const id = stream.id ?? 0
    // Streams above GOAWAY's last-stream-id are not processed, as RFC 9113 section 6.8 says.
    if (id > lastStreamId) return stream.close(constants.NGHTTP2_REFUSED_STREAM)
    accepted++
    stats.streams++
    open++
    stats.maxConcurrent = Math.max(stats.maxConcurrent, open)
    if (!stats.raised) stats.maxConcurrentBeforeRaise = stats.maxConcurrent
    if (config.goawayAfterStreams === accepted) {
      lastStreamId = id
      session.goaway(constants.NGHTTP2_NO_ERROR, lastStreamId)
    }
    stream.on('close', () => {
      open--
      if (stream.rstCode !== constants.NGHTTP2_NO_ERROR && stream.rstCode !== undefined) {
        stats.resets.push({ streamId: id, code: stream.rstCode })
      }
      const raiseTo = config.raiseMaxConcurrentStreamsTo
      if (raiseTo !== undefined && !stats.raised && !session.destroyed) {
        stats.raised = true
        session.settings({ maxConcurrentStreams: raiseTo })
      }
    })
    // A stream that breaks (the client reset it or broke the protocol) just goes unanswered.
    answer(stats, stream, headers).catch(() => {})
  })
}

async function answer(stats: Stats, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
  const url = new URL(String(headers[':path']), 'http://fake')
  const body = await readAll(stream)
  const query = (name: string) => Number(url.searchParams.get(name) ?? 0)
  if (url.pathname === '/stall') return
  if (url.pathname === '/reset') {
    return stream.close(query('code') || constants.NGHTTP2_INTERNAL_ERROR)
  }
  if (url.pathname !== '/echo') {
    stats.unexpected.push({ method: String(headers[':method']), path: url.pathname })
    if (!stream.closed) stream.respond({ ':status': 404 }, { endStream: true })
    return
  }
  if (query('delay') > 0) await new Promise((resolve) => setTimeout(resolve, query('delay')))
  if (stream.closed || stream.destroyed) return
  const responseHeaders: Record<string, string | number> = {
    ':status': query('status') || 200,
    'apns-id': randomUUID(),
    'x-echo-path': url.pathname + url.search,
  }
  if (query('header-bytes') > 0) responseHeaders['x-big'] = 'h'.repeat(query('header-bytes'))
  if (query('bytes') > 0) {
    const octets = Buffer.alloc(query('bytes'))
    for (let i = 0; i < octets.length; i++) octets[i] = i % 251
    stream.respond({ ...responseHeaders, 'content-type': 'application/octet-stream' })
    return stream.end(octets)
  }
  const echo = {
    method: headers[':method'],
    path: headers[':path'],
    authority: headers[':authority'],
    scheme: headers[':scheme'],
    headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(':'))),
    bodyBytes: body.length,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    streamId: stream.id,
  }
  stream.respond({ ...responseHeaders, 'content-type': 'application/json' })
  stream.end(JSON.stringify(echo))
}

async function pingAll(server: FakeServer) {
  const results = await Promise.all(
    [...server.sessions].map(
      (session) =>
        new Promise<{ acked: boolean; ms: number }>((resolve) => {
          const timer = setTimeout(() => resolve({ acked: false, ms: 0 }), 2000)
          session.ping((error, ms) => {
            clearTimeout(timer)
            resolve({ acked: !error, ms })
          })
        }),
    ),
  )
  return { sessions: results.length, acked: results.every((r) => r.acked) }
}

/** A TCP proxy to `port` that keeps what the server sends, up to RECORD_LIMIT octets. */
async function recordingProxy(port: number, sent: Buffer[]): Promise<Server> {
  let kept = 0
  const proxy = createTcpServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (kept < RECORD_LIMIT) sent.push(chunk)
      kept += chunk.length
      client.write(chunk)
    })
    upstream.on('end', () => client.end())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await listen(proxy)
  return proxy
}

function listen(server: Server | Http2Server | ReturnType<typeof createServer>) {
  return new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
}

function readAll(source: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    source.on('data', (chunk: Buffer) => chunks.push(chunk))
    source.on('end', () => resolve(Buffer.concat(chunks)))
    source.on('error', reject)
  })
}
