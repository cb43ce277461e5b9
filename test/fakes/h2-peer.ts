/**
 * A scripted HTTP/2 server on the other end of an in-memory pipe, for the frame-level tests of
 * the client (test/networks/h2-memory.test.ts): the test reads each frame the client writes and
 * decides, octet by octet, what the server sends back, including what no real server would send.
 *
 * It cuts the client's bytes into frames itself (nine-octet header, then payload), without the
 * client's FrameReader, so that what the client wrote is checked as written: a CONTINUATION is
 * seen as a CONTINUATION. Runs in workerd; nothing here uses Node.
 */
import { H2Connection, type H2ConnectionOptions } from '../../src/networks/apns/h2/connection'
import {
  CONNECTION_PREFACE,
  concat,
  encodeFrame,
  FrameType,
  settingsFrame,
} from '../../src/networks/apns/h2/frames'
import { type HeaderField, HpackDecoder, HpackEncoder } from '../../src/networks/apns/h2/hpack'

export type RawFrame = { type: number; flags: number; streamId: number; payload: Uint8Array }

/** How long `next` waits for a frame, and how long `quiet` watches for none. */
const WAIT_MS = 2000
const QUIET_MS = 60

export class ScriptedPeer {
  readonly connection: H2Connection
  /** The server's HPACK state, in step with the client's decoder as long as the test sends blocks in order. */
  readonly encoder = new HpackEncoder()
  /** Decodes the client's header blocks, in step with its encoder. */
  readonly decoder = new HpackDecoder()
  /** True once the client closed its side of the transport. */
  transportClosed = false
  preface: Uint8Array | undefined

  private readonly writer: WritableStreamDefaultWriter<Uint8Array>
  private readonly frames: RawFrame[] = []
  private wake: (() => void) | undefined
  private clientEnded = false

  constructor(options: H2ConnectionOptions = {}) {
    const up = new TransformStream<Uint8Array, Uint8Array>()
    const down = new TransformStream<Uint8Array, Uint8Array>()
    this.writer = down.writable.getWriter()
    this.connection = new H2Connection(
      {
        readable: down.readable,
        writable: up.writable,
        close: () => {
          this.transportClosed = true
          this.writer.close().catch(() => {})
        },
      },
      { authority: 'push.example', ...options },
    )
    void this.read(up.readable)
  }

  /** Sends raw octets to the client. */
  send(...chunks: Uint8Array[]) {
    void this.writer.write(concat(chunks)).catch(() => {})
  }

  /** Closes the server's side, as a server that drops the connection. */
  hangUp() {
    void this.writer.close().catch(() => {})
  }

  settings(...pairs: [number, number][]) {
    this.send(settingsFrame(pairs))
  }

  /** A response header block in one HEADERS frame, END_HEADERS set. */
  headers(streamId: number, fields: HeaderField[], endStream = false) {
    const flags = 0x4 | (endStream ? 0x1 : 0)
    this.send(encodeFrame(FrameType.HEADERS, flags, streamId, this.encoder.encode(fields)))
  }

  data(streamId: number, data: Uint8Array | string, endStream = false) {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    this.send(encodeFrame(FrameType.DATA, endStream ? 0x1 : 0, streamId, bytes))
  }

  /** A whole `200` response with a body. */
  respond(streamId: number, body = 'ok', extra: HeaderField[] = []) {
    this.headers(streamId, [[':status', '200'], ...extra])
    this.data(streamId, body, true)
  }

  /** The next frame the client sent, waiting up to WAIT_MS. */
  async next(): Promise<RawFrame> {
    const deadline = Date.now() + WAIT_MS
    while (this.frames.length === 0) {
      if (this.clientEnded) throw new Error('the client closed the connection')
      if (Date.now() > deadline) throw new Error('no frame from the client')
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 20)
      })
    }
    return this.frames.shift() as RawFrame
  }

  /** The next frame of `type`, skipping SETTINGS ACKs and WINDOW_UPDATEs on the way. */
  async nextOf(type: number): Promise<RawFrame> {
    for (;;) {
      const frame = await this.next()
      if (frame.type === type) return frame
      const routine =
        (frame.type === FrameType.SETTINGS && frame.flags & 0x1) ||
        frame.type === FrameType.WINDOW_UPDATE
      if (!routine) throw new Error(`expected frame type ${type}, got ${frame.type}`)
    }
  }

  /** Reads the client's request HEADERS (and CONTINUATIONs), returning its fields. */
  async request(): Promise<{ streamId: number; fields: HeaderField[]; endStream: boolean }> {
    const first = await this.nextOf(FrameType.HEADERS)
    const parts = [first.payload]
    let last = first
    while (!(last.flags & 0x4)) {
      last = await this.next()
      if (last.type !== FrameType.CONTINUATION) throw new Error('header block interrupted')
      parts.push(last.payload)
    }
    const fields = this.decoder.decode(concat(parts))
    return { streamId: first.streamId, fields, endStream: (first.flags & 0x1) !== 0 }
  }

  /** Frames received now, without waiting: none may arrive for QUIET_MS. */
  async quiet(): Promise<RawFrame[]> {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
    return this.frames.splice(0)
  }

  /**
   * Reads the client's preface and SETTINGS, sends the server's SETTINGS (with `pairs`) and waits
   * for the client's ACK, so that the client applies them before the test goes on.
   */
  async handshake(...pairs: [number, number][]) {
    const settings = await this.next()
    if (settings.type !== FrameType.SETTINGS) throw new Error('no SETTINGS after the preface')
    this.settings(...pairs)
    const ack = await this.next()
    if (ack.type !== FrameType.SETTINGS || ack.flags !== 0x1) throw new Error('no SETTINGS ACK')
    return { settings, ack }
  }

  private async read(readable: ReadableStream<Uint8Array>) {
    const reader = readable.getReader()
    let buffer: Uint8Array = new Uint8Array(0)
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done || !value) break
      buffer = concat([buffer, value])
      if (!this.preface) {
        if (buffer.length < CONNECTION_PREFACE.length) continue
        this.preface = buffer.slice(0, CONNECTION_PREFACE.length)
        buffer = buffer.subarray(CONNECTION_PREFACE.length)
      }
      while (buffer.length >= 9) {
        const length = (buffer[0] ?? 0) * 65536 + (buffer[1] ?? 0) * 256 + (buffer[2] ?? 0)
        if (buffer.length < 9 + length) break
        const view = new DataView(buffer.buffer, buffer.byteOffset)
        this.frames.push({
          type: buffer[3] ?? 0,
          flags: buffer[4] ?? 0,
          streamId: view.getUint32(5) & 0x7fffffff,
          payload: buffer.slice(9, 9 + length),
        })
        buffer = buffer.subarray(9 + length)
      }
      this.wake?.()
    }
    this.clientEnded = true
    this.wake?.()
  }
}

/** The 32-bit words of a payload (RST_STREAM, GOAWAY, WINDOW_UPDATE). */
export function words(payload: Uint8Array): number[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  return Array.from({ length: Math.floor(payload.length / 4) }, (_, i) => view.getUint32(i * 4))
}

/** SETTINGS payload as [id, value] pairs. */
export function settingsOf(payload: Uint8Array): [number, number][] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  return Array.from({ length: payload.length / 6 }, (_, i) => [
    view.getUint16(i * 6),
    view.getUint32(i * 6 + 2),
  ])
}
