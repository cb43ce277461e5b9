// A small HTTP/2 client (RFC 9113) for request/response exchanges with small bodies, run by the
// Worker itself over one byte stream: a TCP or TLS socket from `cloudflare:sockets` (openH2), or
// any { readable, writable, close } pair, which is how tests drive it from memory.
//
// What it does: the connection preface and SETTINGS (ENABLE_PUSH 0) with ACK; many requests in
// flight as streams, never more than the server's SETTINGS_MAX_CONCURRENT_STREAMS (1 until the
// server's first SETTINGS arrives, then whatever it says, also when a later SETTINGS raises it:
// Apple allows 1 stream until it has seen a valid token); HPACK both ways; flow control both ways
// (DATA we send waits for the peer's connection and stream windows; what we receive is given back
// with WINDOW_UPDATE as it arrives); PING answered; RST_STREAM, GOAWAY, timeouts and transport
// failures turned into H2Error values of distinct kinds (errors.ts). Not done, as a client of
// small exchanges does not need them: priorities (ignored), server push (refused), trailers (a
// response's are checked and dropped; none are sent), streaming (bodies are buffered whole both
// ways), SETTINGS_TIMEOUT. Which connection to use for what (one per host and signing key per
// invocation) is the caller's policy; this class only says, with `isUsable()`, when to stop.
//
// ALPN: `connect()` from `cloudflare:sockets` offers no ALPN, so the TLS handshake does not
// announce "h2" and the connection preface is sent regardless (prior knowledge). RFC 9113 section
// 3.3 expects ALPN over TLS; whether APNs accepts HTTP/2 from a deployed Worker without it is
// what `npm run probe:apns` must prove before the `h2` transport may be the production default.
import { connect } from 'cloudflare:sockets'
import { H2Error } from './errors'
import {
  CONNECTION_PREFACE,
  concat,
  dataFrame,
  ErrorCode,
  type Frame,
  FrameReader,
  goawayFrame,
  H2ProtocolError,
  headersFrames,
  MAX_STREAM_ID,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  pingFrame,
  rstStreamFrame,
  Setting,
  settingsAckFrame,
  settingsFrame,
  windowUpdateFrame,
} from './frames'
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from './hpack'
import {
  type H2Request,
  type H2Response,
  type PreparedRequest,
  parseResponseHead,
  prepareRequest,
  trailersAreValid,
} from './message'

export type { H2Request, H2Response } from './message'

/** The longest a request may wait for its answer, queueing included. */
export const MAX_TIMEOUT_MS = 10_000
/** The initial flow-control window of both ends (RFC 9113 section 6.9.2); we keep ours. */
const DEFAULT_WINDOW = 65_535
/** Our windows are topped up once they fall below half. */
const REFILL_BELOW = DEFAULT_WINDOW / 2
/** What we advertise as SETTINGS_MAX_HEADER_LIST_SIZE, and enforce when decoding. */
const MAX_HEADER_LIST = 64 * 1024

/** A duplex byte stream: a `cloudflare:sockets` Socket, or an in-memory pipe in tests. */
export type H2Transport = {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
  close(): void | Promise<void>
}

export type H2ConnectionOptions = {
  /** Default `:authority` of requests (openH2: the URL's host). */
  authority?: string
  /** Default `:scheme` of requests (openH2: the URL's). */
  scheme?: 'https' | 'http'
  /** Larger response bodies fail the request as `malformed`. Default 1 MiB. */
  maxResponseBytes?: number
  /** Huffman-encode header strings that shrink. Default true. */
  huffman?: boolean
}

export type H2RequestOptions = {
  /** From the call to the complete answer, at most MAX_TIMEOUT_MS (the default). */
  timeoutMs?: number
}

type Pending = {
  prepared: PreparedRequest
  method: string
  resolve(response: H2Response): void
  reject(error: H2Error): void
  timer: ReturnType<typeof setTimeout> | undefined
  streamId?: number
}

type Stream = {
  id: number
  pending: Pending
  /** Our send window for this stream; negative after a SETTINGS shrink (section 6.9.2). */
  sendWindow: number
  /** Octets of the request body sent so far. */
  sent: number
  /** Octets we may still receive before our next WINDOW_UPDATE for this stream. */
  recvWindow: number
  head?: { status: number; headers: Record<string, string>; contentLength?: number }
  chunks: Uint8Array[]
  received: number
}

/**
 * One HTTP/2 connection. `request()` may be called any number of times concurrently; requests
 * beyond the server's concurrency limit queue. After GOAWAY or a failure `isUsable()` is false:
 * open a new connection for further requests.
 */
export class H2Connection {
  /** Resolves once the connection is finished, whatever the reason. Never rejects. */
  readonly closed: Promise<void>

  private readonly transport: H2Transport
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>
  private readonly defaults: { authority?: string; scheme?: 'https' | 'http' }
  private readonly maxResponseBytes: number
  private readonly encoder: HpackEncoder
  private readonly decoder = new HpackDecoder({ maxHeaderListSize: MAX_HEADER_LIST })
  private readonly reader = new FrameReader()
  private readonly streams = new Map<number, Stream>()
  private readonly queue: Pending[] = []
  private readonly pings = new Map<
    string,
    { started: number; resolve(ms: number): void; reject(error: H2Error): void }
  >()
  private outbox: Uint8Array[] = []
  private nextStreamId = 1
  private sawPeerSettings = false
  private ourSettingsAcked = false
  /** Conservative until the server's SETTINGS says otherwise. */
  private peerMaxStreams = 1
  private peerInitialWindow = DEFAULT_WINDOW
  private peerMaxFrameSize = MIN_MAX_FRAME_SIZE
  private sendWindow = DEFAULT_WINDOW
  private recvWindow = DEFAULT_WINDOW
  private goawayLastId: number | undefined
  private failure: H2Error | undefined
  private resolveClosed!: () => void

  constructor(transport: H2Transport, options: H2ConnectionOptions = {}) {
    this.transport = transport
    this.writer = transport.writable.getWriter()
    this.defaults = { authority: options.authority, scheme: options.scheme }
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024
    this.encoder = new HpackEncoder({ huffman: options.huffman ?? true })
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve
    })
    this.send(CONNECTION_PREFACE)
    this.send(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
      ]),
    )
    void this.readLoop()
  }

  /** False once GOAWAY arrived, the connection failed or was closed, or stream ids ran out. */
  isUsable(): boolean {
    return !this.failure && this.goawayLastId === undefined && this.nextStreamId <= MAX_STREAM_ID
  }

  /** Streams open now, requests waiting for one, and the server's current limit. */
  get stats(): { openStreams: number; queued: number; maxConcurrentStreams: number } {
    return {
      openStreams: this.streams.size,
      queued: this.queue.length,
      maxConcurrentStreams: this.peerMaxStreams,
    }
  }

  /**
   * Sends a request and resolves with the complete response, whatever its status. Rejects with
   * H2Error (see errors.ts for the kinds); throws TypeError or RangeError for a request that
   * cannot be sent at all.
   */
  async request(request: H2Request, options: H2RequestOptions = {}): Promise<H2Response> {
    const timeoutMs = options.timeoutMs ?? MAX_TIMEOUT_MS
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new RangeError(`timeoutMs must be in (0, ${MAX_TIMEOUT_MS}], got ${timeoutMs}`)
    }
    const prepared = prepareRequest(request, this.defaults)
    return new Promise<H2Response>((resolve, reject) => {
      const refusal = this.refusal()
      if (refusal) return reject(refusal)
      const pending: Pending = {
        prepared,
        method: request.method,
        resolve,
        reject,
        timer: undefined,
      }
      pending.timer = setTimeout(() => this.timeout(pending), timeoutMs)
      this.queue.push(pending)
      this.pump()
    })
  }

  /** Sends PING and resolves with the round trip in ms once the ACK is back. */
  ping(timeoutMs = MAX_TIMEOUT_MS): Promise<number> {
    return new Promise((resolve, reject) => {
      const refusal = this.failure
      if (refusal) return reject(refusal)
      const data = crypto.getRandomValues(new Uint8Array(8))
      const key = data.join()
      const timer = setTimeout(() => {
        this.pings.delete(key)
        reject(new H2Error('timeout', 'no PING ACK in time', true))
      }, timeoutMs)
      this.pings.set(key, {
        started: Date.now(),
        resolve: (ms) => {
          clearTimeout(timer)
          resolve(ms)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.send(pingFrame(data, false))
    })
  }

  /** Ends the connection now: GOAWAY to the server, `connection` errors to whatever is pending. */
  async close(): Promise<void> {
    if (this.failure) return this.closed
    this.send(goawayFrame(0, ErrorCode.NO_ERROR))
    this.fail(new H2Error('connection', 'connection closed by the client', true))
    return this.closed
  }

  // Opening streams

  private refusal(): H2Error | undefined {
    if (this.failure) return this.failure
    if (this.goawayLastId !== undefined || this.nextStreamId > MAX_STREAM_ID) {
      return new H2Error('goaway', 'connection is going away: not sent', true)
    }
    return undefined
  }

  /** Opens streams for queued requests while the server's limit allows. */
  private pump() {
    while (this.queue.length > 0 && this.streams.size < this.peerMaxStreams) {
      const refusal = this.refusal()
      if (refusal) {
        for (const pending of this.queue.splice(0)) this.settle(pending, refusal)
        return
      }
      const pending = this.queue.shift()
      if (pending) this.open(pending)
    }
  }

  private open(pending: Pending) {
    const id = this.nextStreamId
    this.nextStreamId += 2
    pending.streamId = id
    const { fields, body } = pending.prepared
    // Encoding and queueing in one step keeps HPACK's table in the order blocks go out.
    const block = this.encoder.encode(fields)
    this.send(headersFrames(id, block, body.length === 0, this.peerMaxFrameSize))
    this.streams.set(id, {
      id,
      pending,
      sendWindow: this.peerInitialWindow,
      sent: 0,
      recvWindow: DEFAULT_WINDOW,
      chunks: [],
      received: 0,
    })
    if (body.length > 0) this.sendData()
  }

  /** Sends as much pending request body as the windows allow, stream by stream in id order. */
  private sendData() {
    for (const stream of this.streams.values()) {
      const body = stream.pending.prepared.body
      while (stream.sent < body.length && this.sendWindow > 0 && stream.sendWindow > 0) {
        const size = Math.min(
          body.length - stream.sent,
          this.sendWindow,
          stream.sendWindow,
          this.peerMaxFrameSize,
        )
        const end = stream.sent + size === body.length
        this.send(dataFrame(stream.id, body.subarray(stream.sent, stream.sent + size), end))
        stream.sent += size
        stream.sendWindow -= size
        this.sendWindow -= size
      }
    }
  }

  // Reading

  private async readLoop() {
    const reader = this.transport.readable.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done || this.failure) break
        for (const frame of this.reader.push(value)) {
          this.handle(frame)
          if (this.failure) break
        }
        if (this.failure) break
      }
      this.fail(new H2Error('connection', 'the server closed the connection', true))
    } catch (error) {
      this.failOn(error)
    } finally {
      reader.releaseLock()
    }
  }

  /** A protocol error ends the connection with GOAWAY; anything else is a transport failure. */
  private failOn(error: unknown) {
    if (this.failure) return
    const code =
      error instanceof H2ProtocolError
        ? error.code
        : error instanceof HpackError
          ? ErrorCode.COMPRESSION_ERROR
          : undefined
    const detail = error instanceof Error ? error.message : String(error)
    // A client's last-stream-id counts server-initiated streams, of which we accept none.
    if (code !== undefined) this.send(goawayFrame(0, code))
    this.fail(new H2Error('connection', `HTTP/2 connection failed: ${detail}`, true, code))
  }

  private handle(frame: Frame) {
    if (!this.sawPeerSettings && frame.type !== 'settings') {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'server preface is not SETTINGS')
    }
    switch (frame.type) {
      case 'settings':
        if (frame.ack) this.ourSettingsAcked = true
        else this.applySettings(frame.settings)
        return
      case 'headers':
        return this.onHeaders(frame.streamId, this.decoder.decode(frame.block), frame.endStream)
      case 'data':
        return this.onData(frame)
      case 'window_update':
        return this.onWindowUpdate(frame.streamId, frame.increment)
      case 'rst_stream':
        return this.onReset(frame.streamId, frame.code)
      case 'goaway':
        return this.onGoaway(frame.lastStreamId, frame.code)
      case 'ping':
        if (!frame.ack) return this.send(pingFrame(frame.data, true))
        return this.onPingAck(frame.data)
      case 'push_promise':
        return this.onPushPromise(frame.promisedId, frame.block)
      case 'priority':
      case 'unknown':
        return
    }
  }

  private applySettings(settings: readonly (readonly [number, number])[]) {
    // Until the server's first SETTINGS we allowed one stream; a limit it does not name is
    // unlimited (section 6.5.2).
    if (!this.sawPeerSettings) this.peerMaxStreams = Number.POSITIVE_INFINITY
    this.sawPeerSettings = true
    for (const [id, value] of settings) {
      if (id === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = value
      if (id === Setting.MAX_FRAME_SIZE) this.peerMaxFrameSize = value
      if (id === Setting.HEADER_TABLE_SIZE) this.encoder.setMaxTableSize(value)
      if (id === Setting.INITIAL_WINDOW_SIZE) this.changeInitialWindow(value)
    }
    this.send(settingsAckFrame())
    this.pump()
    this.sendData()
  }

  /** A new initial window moves every open stream's window by the difference (section 6.9.2). */
  private changeInitialWindow(value: number) {
    const delta = value - this.peerInitialWindow
    this.peerInitialWindow = value
    for (const stream of this.streams.values()) {
      stream.sendWindow += delta
      if (stream.sendWindow > MAX_WINDOW) {
        throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window over 2^31-1')
      }
    }
  }

  /** A stream id the server names that we never opened is a connection error (section 5.1). */
  private checkKnown(streamId: number) {
    if (streamId % 2 === 0 || streamId >= this.nextStreamId) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `frame on idle stream ${streamId}`)
    }
  }

  private onHeaders(streamId: number, fields: HeaderField[], endStream: boolean) {
    this.checkKnown(streamId)
    // A stream we already closed (reset, timed out): its block was decoded for HPACK's sake.
    const stream = this.streams.get(streamId)
    if (!stream) return
    if (stream.head) {
      if (!endStream || !trailersAreValid(fields)) return this.malformed(stream, 'bad trailers')
      return this.complete(stream)
    }
    const head = parseResponseHead(fields)
    if (head.kind === 'malformed') return this.malformed(stream, head.reason)
    if (head.kind === 'informational') {
      if (endStream) this.malformed(stream, 'informational response ends the stream')
      return
    }
    stream.head = head
    if (endStream) this.complete(stream)
  }

  private onData(frame: Extract<Frame, { type: 'data' }>) {
    this.checkKnown(frame.streamId)
    // The connection window counts every DATA frame, also on streams we closed (section 6.9).
    this.recvWindow -= frame.flowLength
    if (this.recvWindow < 0) {
      throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window exceeded')
    }
    if (this.recvWindow < REFILL_BELOW) {
      this.send(windowUpdateFrame(0, DEFAULT_WINDOW - this.recvWindow))
      this.recvWindow = DEFAULT_WINDOW
    }
    const stream = this.streams.get(frame.streamId)
    if (!stream) return
    if (!stream.head) return this.malformed(stream, 'DATA before the response headers')
    stream.recvWindow -= frame.flowLength
    if (stream.recvWindow < 0) {
      return this.resetStream(
        stream,
        ErrorCode.FLOW_CONTROL_ERROR,
        new H2Error('malformed', 'server overran the stream window', false),
      )
    }
    stream.chunks.push(frame.data)
    stream.received += frame.data.length
    if (stream.received > this.maxResponseBytes) {
      return this.resetStream(
        stream,
        ErrorCode.CANCEL,
        new H2Error('malformed', `response body over ${this.maxResponseBytes} octets`, false),
      )
    }
    if (frame.endStream) return this.complete(stream)
    if (stream.recvWindow < REFILL_BELOW) {
      this.send(windowUpdateFrame(stream.id, DEFAULT_WINDOW - stream.recvWindow))
      stream.recvWindow = DEFAULT_WINDOW
    }
  }

  private onWindowUpdate(streamId: number, increment: number) {
    if (streamId === 0) {
      this.sendWindow += increment
      if (this.sendWindow > MAX_WINDOW) {
        throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1')
      }
      return this.sendData()
    }
    this.checkKnown(streamId)
    const stream = this.streams.get(streamId)
    if (!stream) return
    stream.sendWindow += increment
    if (increment === 0 || stream.sendWindow > MAX_WINDOW) {
      const code = increment === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR
      const error = new H2Error('connection', 'invalid WINDOW_UPDATE from the server', false, code)
      return this.resetStream(stream, code, error)
    }
    this.sendData()
  }

  private onReset(streamId: number, code: number) {
    this.checkKnown(streamId)
    const stream = this.streams.get(streamId)
    if (!stream) return
    this.streams.delete(streamId)
    const retryable = code === ErrorCode.REFUSED_STREAM
    this.settle(stream.pending, new H2Error('reset', `stream reset, code ${code}`, retryable, code))
    this.afterStreamClosed()
  }

  /**
   * Streams above `lastStreamId` were not and will not be processed: they fail as retryable, as
   * does everything still queued. Streams at or below it run to completion; then we close.
   */
  private onGoaway(lastStreamId: number, code: number) {
    this.goawayLastId = Math.min(lastStreamId, this.goawayLastId ?? lastStreamId)
    const error = () => new H2Error('goaway', `GOAWAY (code ${code}): not processed`, true, code)
    for (const stream of [...this.streams.values()]) {
      if (stream.id <= this.goawayLastId) continue
      this.streams.delete(stream.id)
      this.settle(stream.pending, error())
    }
    for (const pending of this.queue.splice(0)) this.settle(pending, error())
    this.afterStreamClosed()
  }

  private onPingAck(data: Uint8Array) {
    const key = data.join()
    const ping = this.pings.get(key)
    this.pings.delete(key)
    ping?.resolve(Date.now() - ping.started)
  }

  /**
   * We sent ENABLE_PUSH 0. Until the server has acknowledged that, a PUSH_PROMISE is refused with
   * RST_STREAM; afterwards it is a connection error (section 6.6). The block is decoded either
   * way so that HPACK's table stays in step.
   */
  private onPushPromise(promisedId: number, block: Uint8Array) {
    this.decoder.decode(block)
    if (this.ourSettingsAcked) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled')
    }
    this.send(rstStreamFrame(promisedId, ErrorCode.REFUSED_STREAM))
  }

  // Ending streams

  private complete(stream: Stream) {
    const head = stream.head
    if (!head) return this.malformed(stream, 'stream ended without a response')
    const body = concat(stream.chunks)
    const lengthMatters = stream.pending.method !== 'HEAD' && head.status !== 304
    if (lengthMatters && head.contentLength !== undefined && head.contentLength !== body.length) {
      return this.malformed(stream, 'content-length does not match the body')
    }
    this.streams.delete(stream.id)
    // The server answered before our body was all sent: stop it, and free its stream slot.
    if (stream.sent < stream.pending.prepared.body.length) {
      this.send(rstStreamFrame(stream.id, ErrorCode.CANCEL))
    }
    stream.pending.resolve({ status: head.status, headers: head.headers, body })
    if (stream.pending.timer !== undefined) clearTimeout(stream.pending.timer)
    this.afterStreamClosed()
  }

  private malformed(stream: Stream, reason: string) {
    const error = new H2Error('malformed', `malformed response: ${reason}`, false)
    this.resetStream(stream, ErrorCode.PROTOCOL_ERROR, error)
  }

  private resetStream(stream: Stream, code: number, error: H2Error) {
    this.streams.delete(stream.id)
    this.send(rstStreamFrame(stream.id, code))
    this.settle(stream.pending, error)
    this.afterStreamClosed()
  }

  private timeout(pending: Pending) {
    const error = new H2Error('timeout', 'no complete response in time', true)
    const stream = pending.streamId === undefined ? undefined : this.streams.get(pending.streamId)
    if (stream) return this.resetStream(stream, ErrorCode.CANCEL, error)
    const at = this.queue.indexOf(pending)
    if (at >= 0) this.queue.splice(at, 1)
    this.settle(pending, error)
  }

  private settle(pending: Pending, error: H2Error) {
    if (pending.timer !== undefined) clearTimeout(pending.timer)
    pending.reject(error)
  }

  /** A slot is free: open the next queued stream, or finish a connection that is going away. */
  private afterStreamClosed() {
    if (this.goawayLastId !== undefined && this.streams.size === 0) {
      this.fail(new H2Error('goaway', 'connection is going away: not sent', true))
      return
    }
    this.pump()
  }

  // Writing and ending

  /** Frames written in one turn of the event loop go out in one write. */
  private send(bytes: Uint8Array) {
    if (this.failure) return
    this.outbox.push(bytes)
    if (this.outbox.length === 1) queueMicrotask(() => this.flush())
  }

  private flush() {
    if (this.outbox.length === 0) return
    const bytes = concat(this.outbox)
    this.outbox = []
    this.writer.write(bytes).catch((error: unknown) => this.failOn(error))
  }

  /** Fails everything pending with `error`, closes the transport and resolves `closed`. */
  private fail(error: H2Error) {
    if (this.failure) return
    // Whatever was sent last (a GOAWAY) still goes out before the transport closes.
    const last = this.outbox.length > 0 ? concat(this.outbox) : undefined
    this.outbox = []
    this.failure = error
    for (const stream of this.streams.values()) this.settle(stream.pending, error)
    this.streams.clear()
    for (const pending of this.queue.splice(0)) this.settle(pending, error)
    for (const ping of this.pings.values()) ping.reject(error)
    this.pings.clear()
    void this.shutdown(last)
  }

  private async shutdown(last: Uint8Array | undefined) {
    try {
      if (last) await this.writer.write(last)
      await this.writer.close()
    } catch {
      // The transport is already broken: closing it below is all that is left.
    }
    try {
      await this.transport.close()
    } catch {
      // Same: nothing to report, the connection is over either way.
    }
    this.resolveClosed()
  }
}

/**
 * Opens an HTTP/2 connection to `url`'s origin over `cloudflare:sockets`: TLS for https: (with no
 * ALPN: see the header), plain TCP with prior knowledge for http:. Returns at once; a connection
 * that cannot be made fails its requests with kind `connection`.
 */
export function openH2(url: string, options: H2ConnectionOptions = {}): H2Connection {
  const target = new URL(url)
  const https = target.protocol === 'https:'
  if (!https && target.protocol !== 'http:') {
    throw new TypeError(`openH2 needs an http: or https: URL, got ${target.protocol}`)
  }
  const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(target.port || (https ? 443 : 80))
  const socket = connect(
    { hostname, port },
    { secureTransport: https ? 'on' : 'off', allowHalfOpen: false },
  )
  return new H2Connection(socket, {
    authority: target.host,
    scheme: https ? 'https' : 'http',
    ...options,
  })
}
