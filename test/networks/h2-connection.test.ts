/**
 * The HTTP/2 client against nghttp2 (Node's `http2` servers of test/fakes/h2.ts) over real TCP
 * sockets from `cloudflare:sockets`, opened by `openH2` exactly as in production but with
 * `http://` (prior knowledge, no TLS). Each test makes its own server with the behaviour it
 * needs and reads back what the server saw.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { type H2Connection, openH2 } from '../../src/networks/apns/h2/connection'
import { H2Error } from '../../src/networks/apns/h2/errors'
import { ErrorCode } from '../../src/networks/apns/h2/frames'
import type { ServerConfig, Stats } from '../fakes/h2'

const CONTROL = inject('h2FakeUrl')

type Echo = {
  method: string
  path: string
  authority: string
  scheme: string
  headers: Record<string, string>
  bodyBytes: number
  bodySha256: string
  streamId: number
}

type FakeServer = {
  url: string
  stats(): Promise<Stats>
  sent(): Promise<Uint8Array>
  ping(): Promise<{ sessions: number; acked: boolean }>
}

const opened: H2Connection[] = []
const servers: string[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((connection) => connection.close()))
  await Promise.all(
    servers.splice(0).map((id) => fetch(`${CONTROL}/servers/${id}`, { method: 'DELETE' })),
  )
})

async function fakeServer(config: ServerConfig = {}): Promise<FakeServer> {
  const response = await fetch(`${CONTROL}/servers`, {
    method: 'POST',
    body: JSON.stringify(config),
  })
  expect(response.status).toBe(201)
  const { id, url } = await response.json<{ id: string; url: string }>()
  servers.push(id)
  return {
    url,
    stats: async () => (await fetch(`${CONTROL}/servers/${id}`)).json<Stats>(),
    sent: async () =>
      new Uint8Array(await (await fetch(`${CONTROL}/servers/${id}/sent`)).arrayBuffer()),
    ping: async () =>
      (await fetch(`${CONTROL}/servers/${id}/ping`, { method: 'POST' })).json<{
        sessions: number
        acked: boolean
      }>(),
  }
}

function open(url: string): H2Connection {
  const connection = openH2(url)
  opened.push(connection)
  return connection
}

const json = <T>(body: Uint8Array): T => JSON.parse(new TextDecoder().decode(body))

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** Why a promise rejected, failing the test if it did not reject with an H2Error. */
async function failure(promise: Promise<unknown>): Promise<H2Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(H2Error)
  return error as H2Error
}

describe('h2 over a real socket', () => {
  it('sends a request and decodes the answer, both ways through HPACK with Huffman', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const response = await connection.request({
      method: 'POST',
      path: '/echo?x=1',
      headers: {
        authorization: 'bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyMyJ9.e30.c2ln',
        'apns-topic': 'com.example.app',
        'Apns-Push-Type': 'alert',
      },
      body: '{"aps":{"alert":"hi"}}',
    })

    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(response.headers['x-echo-path']).toBe('/echo?x=1')
    expect(response.headers['apns-id']).toMatch(/^[0-9a-f-]{36}$/)
    const echo = json<Echo>(response.body)
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/echo?x=1',
      authority: new URL(server.url).host,
      scheme: 'http',
      bodyBytes: 22,
      streamId: 1,
    })
    expect(echo.headers).toMatchObject({
      authorization: 'bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyMyJ9.e30.c2ln',
      'apns-topic': 'com.example.app',
      'apns-push-type': 'alert',
      'content-length': '22',
    })
    expect(echo.bodySha256).toBe(await sha256(new TextEncoder().encode('{"aps":{"alert":"hi"}}')))
    expect(connection.isUsable()).toBe(true)
  })

  it('decodes header strings the server Huffman-encoded, in HEADERS and CONTINUATION', async () => {
    const server = await fakeServer({ record: true })
    const connection = open(server.url)
    const path = '/echo?bytes=16&nonce=huffmanproofstring&header-bytes=30000'
    const response = await connection.request({ method: 'GET', path })

    expect(response.headers['x-echo-path']).toBe(path)
    // 30000 octets of "h" are 22500 once Huffman-encoded: more than one 16384-octet frame.
    expect(response.headers['x-big']).toBe('h'.repeat(30000))
    expect(response.body).toHaveLength(16)
    // The literal went out Huffman-encoded: its plain octets appear nowhere in what was sent.
    const sent = new TextDecoder('latin1').decode(await server.sent())
    expect(sent).not.toContain('huffmanproofstring')
    expect(sent).not.toContain('hhhhhhhh')
  })

  it('sends a header block larger than a frame as HEADERS and CONTINUATION', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const value = 'v'.repeat(20_000)
    const response = await connection.request({
      method: 'GET',
      path: '/echo',
      headers: { 'x-large': value },
    })
    expect(json<Echo>(response.body).headers['x-large']).toBe(value)
  })

  it('multiplexes 100 requests on one connection, each answered with its own response', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        connection.request({ method: 'POST', path: `/echo?delay=20&n=${i}`, body: `body ${i}` }),
      ),
    )

    responses.forEach((response, i) => {
      expect(response.status).toBe(200)
      expect(response.headers['x-echo-path']).toBe(`/echo?delay=20&n=${i}`)
      const echo = json<Echo>(response.body)
      expect(echo.path).toBe(`/echo?delay=20&n=${i}`)
      expect(echo.bodyBytes).toBe(`body ${i}`.length)
    })
    const stats = await server.stats()
    expect(stats).toMatchObject({ sessions: 1, streams: 100, resets: [], unexpected: [] })
    expect(stats.maxConcurrent).toBeGreaterThan(50)
    expect(connection.stats).toMatchObject({ openStreams: 0, queued: 0 })
  })

  it('keeps to MAX_CONCURRENT_STREAMS 1, then uses the raised limit', async () => {
    const server = await fakeServer({ maxConcurrentStreams: 1, raiseMaxConcurrentStreamsTo: 50 })
    const connection = open(server.url)
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        connection.request({ method: 'GET', path: `/echo?delay=30&n=${i}` }),
      ),
    )

    expect(responses.map((r) => r.status)).toEqual(new Array(30).fill(200))
    const stats = await server.stats()
    expect(stats.raised).toBe(true)
    expect(stats.maxConcurrentBeforeRaise).toBe(1)
    expect(stats.maxConcurrent).toBeGreaterThan(10)
    expect(stats.resets).toEqual([])
    expect(connection.stats.maxConcurrentStreams).toBe(50)
  })

  it('on GOAWAY mid-batch, completes the streams the server kept and fails the rest as retryable', async () => {
    const server = await fakeServer({ goawayAfterStreams: 5 })
    const connection = open(server.url)
    const started = Date.now()
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        connection.request({ method: 'GET', path: `/echo?delay=50&n=${i}` }, { timeoutMs: 5000 }),
      ),
    )

    expect(Date.now() - started).toBeLessThan(4000)
    const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
    expect(fulfilled).toHaveLength(5)
    expect(fulfilled.map((r) => json<Echo>(r.body).streamId)).toEqual([1, 3, 5, 7, 9])
    expect(rejected).toHaveLength(15)
    for (const error of rejected) {
      expect(error).toBeInstanceOf(H2Error)
      expect(error).toMatchObject({ kind: 'goaway', retryable: true, code: ErrorCode.NO_ERROR })
    }
    expect(connection.isUsable()).toBe(false)
    await connection.closed

    const retry = open(server.url)
    const again = await retry.request({ method: 'GET', path: '/echo' })
    expect(again.status).toBe(200)
  })

  it('fails a reset stream with its code and answers the others', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const paths = ['/echo', '/reset?code=2', '/echo', '/reset?code=7', '/echo']
    const results = await Promise.allSettled(
      paths.map((path) => connection.request({ method: 'GET', path })),
    )

    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    const [, internal, , refused] = results
    expect(internal).toMatchObject({
      reason: { kind: 'reset', code: ErrorCode.INTERNAL_ERROR, retryable: false },
    })
    expect(refused).toMatchObject({
      reason: { kind: 'reset', code: ErrorCode.REFUSED_STREAM, retryable: true },
    })
    expect(connection.isUsable()).toBe(true)
  })

  it('times out a stalled request with RST_STREAM CANCEL and keeps the connection for others', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const started = Date.now()
    const stalled = failure(
      connection.request({ method: 'GET', path: '/stall' }, { timeoutMs: 300 }),
    )
    const slow = connection.request({ method: 'GET', path: '/echo?delay=600' })

    const error = await stalled
    const waited = Date.now() - started
    expect(error).toMatchObject({ kind: 'timeout', retryable: true })
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(1500)
    expect((await slow).status).toBe(200)
    expect((await connection.request({ method: 'GET', path: '/echo' })).status).toBe(200)
    expect(connection.isUsable()).toBe(true)
    expect((await server.stats()).resets).toEqual([{ streamId: 1, code: ErrorCode.CANCEL }])
  })

  it('receives 100 KB bodies, giving the windows back with WINDOW_UPDATE', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    // Three at once: 300 KB through a 64 KB connection window and 64 KB stream windows.
    const responses = await Promise.all(
      [0, 1, 2].map(() => connection.request({ method: 'GET', path: '/echo?bytes=102400' })),
    )
    for (const response of responses) {
      expect(response.body).toHaveLength(102_400)
      expect(response.body.every((octet, i) => octet === i % 251)).toBe(true)
    }
  })

  it('sends bodies larger than the server lets it send at once, waiting for WINDOW_UPDATE', async () => {
    const server = await fakeServer({ initialWindowSize: 1000 })
    const connection = open(server.url)
    const bodies = [100_000, 50_000, 70_000].map((length, seed) =>
      Uint8Array.from({ length }, (_, i) => (i * 7 + seed * 13 + (i >> 8)) % 256),
    )
    const responses = await Promise.all(
      bodies.map((body) => connection.request({ method: 'POST', path: '/echo', body })),
    )
    for (const [i, response] of responses.entries()) {
      const body = bodies[i] ?? new Uint8Array(0)
      expect(json<Echo>(response.body)).toMatchObject({
        bodyBytes: body.length,
        bodySha256: await sha256(body),
      })
    }
  })

  it('answers the server PING and gets its own PING answered', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    await connection.request({ method: 'GET', path: '/echo' })
    expect(await server.ping()).toEqual({ sessions: 1, acked: true })
    expect(await connection.ping()).toBeGreaterThanOrEqual(0)
  })

  it('fails in-flight requests as retryable when the server goes away without GOAWAY', async () => {
    const server = await fakeServer()
    const connection = open(server.url)
    const stalled = failure(connection.request({ method: 'GET', path: '/stall' }))
    await connection.request({ method: 'GET', path: '/echo' })
    const id = servers.pop()
    await fetch(`${CONTROL}/servers/${id}`, { method: 'DELETE' })

    expect(await stalled).toMatchObject({ kind: 'connection', retryable: true })
    await connection.closed
    expect(connection.isUsable()).toBe(false)
    const late = await failure(connection.request({ method: 'GET', path: '/echo' }))
    expect(late.kind).toBe('connection')
  })

  it('fails as retryable when nothing listens', async () => {
    const server = await fakeServer()
    const id = servers.pop()
    await fetch(`${CONTROL}/servers/${id}`, { method: 'DELETE' })
    const connection = open(server.url)
    const error = await failure(connection.request({ method: 'GET', path: '/echo' }))
    expect(error).toMatchObject({ kind: 'connection', retryable: true })
  })
})
