// HTTP/2 frames (RFC 9113 sections 4 and 6): encoding what a client sends, and a streaming reader
// that cuts the bytes a server sends into checked frames. The reader owns every rule that needs
// only the frame itself: lengths, stream 0 or not, padding, setting values, the size limit, and
// header blocks: a HEADERS or PUSH_PROMISE without END_HEADERS is held until its CONTINUATION
// frames complete it, and any other frame in between is a protocol error. What needs connection
// state (streams, windows, HPACK) is connection.ts's.

export const FRAME_HEADER_LENGTH = 9
/** SETTINGS_MAX_FRAME_SIZE's initial value, and the smallest a peer may set (section 6.5.2). */
export const MIN_MAX_FRAME_SIZE = 16_384
const MAX_MAX_FRAME_SIZE = 16_777_215
/** Largest flow-control window (section 6.9.1). */
export const MAX_WINDOW = 2 ** 31 - 1
export const MAX_STREAM_ID = 2 ** 31 - 1

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const

/** Error codes of RFC 9113 section 7, as sent in RST_STREAM and GOAWAY. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

/** What a client sends first, before its SETTINGS (section 3.4). */
export const CONNECTION_PREFACE = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/** A violation that ends the connection: the caller sends GOAWAY with `code` and closes. */
export class H2ProtocolError extends Error {
  override readonly name = 'H2ProtocolError'

  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export type Frame =
  | { type: 'data'; streamId: number; endStream: boolean; data: Uint8Array; flowLength: number }
  | { type: 'headers'; streamId: number; endStream: boolean; block: Uint8Array }
  | { type: 'priority'; streamId: number }
  | { type: 'rst_stream'; streamId: number; code: number }
  | { type: 'settings'; ack: true }
  | { type: 'settings'; ack: false; settings: [id: number, value: number][] }
  | { type: 'push_promise'; streamId: number; promisedId: number; block: Uint8Array }
  | { type: 'ping'; ack: boolean; data: Uint8Array }
  | { type: 'goaway'; lastStreamId: number; code: number; debug: Uint8Array }
  | { type: 'window_update'; streamId: number; increment: number }
  | { type: 'unknown'; frameType: number; streamId: number }

// Encoding

export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LENGTH + payload.length)
  const view = new DataView(frame.buffer)
  view.setUint32(0, payload.length << 8)
  view.setUint8(3, type)
  view.setUint8(4, flags)
  view.setUint32(5, streamId & MAX_STREAM_ID)
  frame.set(payload, FRAME_HEADER_LENGTH)
  return frame
}

function words(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4)
  const view = new DataView(bytes.buffer)
  for (const [i, value] of values.entries()) view.setUint32(i * 4, value)
  return bytes
}

export function settingsFrame(settings: readonly (readonly [id: number, value: number])[]) {
  const payload = new Uint8Array(settings.length * 6)
  const view = new DataView(payload.buffer)
  settings.forEach(([id, value], i) => {
    view.setUint16(i * 6, id)
    view.setUint32(i * 6 + 2, value)
  })
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload)
}

export const settingsAckFrame = () => encodeFrame(FrameType.SETTINGS, Flag.ACK, 0)

export const pingFrame = (data: Uint8Array, ack: boolean) =>
  encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data)

export const windowUpdateFrame = (streamId: number, increment: number) =>
  encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, words(increment))

export const rstStreamFrame = (streamId: number, code: number) =>
  encodeFrame(FrameType.RST_STREAM, 0, streamId, words(code))

export const goawayFrame = (lastStreamId: number, code: number) =>
  encodeFrame(FrameType.GOAWAY, 0, 0, words(lastStreamId, code))

export const dataFrame = (streamId: number, data: Uint8Array, endStream: boolean) =>
  encodeFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data)

/**
 * A header block as one HEADERS frame and as many CONTINUATION frames as `maxFrameSize` needs,
 * concatenated: they must go out back to back (section 6.10).
 */
export function headersFrames(
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array {
  const frames: Uint8Array[] = []
  for (let at = 0; at === 0 || at < block.length; at += maxFrameSize) {
    const last = at + maxFrameSize >= block.length
    const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 && endStream ? Flag.END_STREAM : 0)
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION
    frames.push(encodeFrame(type, flags, streamId, block.subarray(at, at + maxFrameSize)))
  }
  return concat(frames)
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const chunk of chunks) length += chunk.length
  const out = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

// Decoding

type RawFrame = { type: number; flags: number; streamId: number; payload: Uint8Array }

type OpenBlock = {
  type: 'headers' | 'push_promise'
  streamId: number
  endStream: boolean
  promisedId: number
  parts: Uint8Array[]
  length: number
}

/**
 * Cuts a byte stream into frames. `push` returns the frames completed by a chunk; it throws
 * H2ProtocolError for a connection error, after which the reader must not be used again.
 */
export class FrameReader {
  private buffer: Uint8Array = new Uint8Array(0)
  private open: OpenBlock | undefined

  /**
   * @param maxFrameSize our SETTINGS_MAX_FRAME_SIZE (we keep the default)
   * @param maxHeaderBlock the largest header block reassembled from CONTINUATION frames
   */
  constructor(
    private readonly maxFrameSize = MIN_MAX_FRAME_SIZE,
    private readonly maxHeaderBlock = 256 * 1024,
  ) {}

  push(chunk: Uint8Array): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat([this.buffer, chunk])
    const frames: Frame[] = []
    while (this.buffer.length >= FRAME_HEADER_LENGTH) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length)
      const length = view.getUint32(0) >>> 8
      if (length > this.maxFrameSize) {
        throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} octets`)
      }
      if (this.buffer.length < FRAME_HEADER_LENGTH + length) break
      const raw: RawFrame = {
        type: view.getUint8(3),
        flags: view.getUint8(4),
        streamId: view.getUint32(5) & MAX_STREAM_ID,
        payload: this.buffer.slice(FRAME_HEADER_LENGTH, FRAME_HEADER_LENGTH + length),
      }
      this.buffer = this.buffer.subarray(FRAME_HEADER_LENGTH + length)
      const frame = this.accept(raw)
      if (frame) frames.push(frame)
    }
    return frames
  }

  private accept(raw: RawFrame): Frame | undefined {
    if (this.open) return this.continueBlock(this.open, raw)
    if (raw.type === FrameType.CONTINUATION) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block')
    }
    if (raw.type === FrameType.HEADERS || raw.type === FrameType.PUSH_PROMISE) {
      return this.startBlock(raw)
    }
    return decodeFrame(raw)
  }

  private startBlock(raw: RawFrame): Frame | undefined {
    requireStream(raw)
    const fragment = unpad(raw)
    let block = fragment
    let promisedId = 0
    if (raw.type === FrameType.PUSH_PROMISE) {
      if (fragment.length < 4) throw sizeError('PUSH_PROMISE')
      promisedId = new DataView(fragment.buffer, fragment.byteOffset).getUint32(0) & MAX_STREAM_ID
      block = fragment.subarray(4)
    } else if (raw.flags & Flag.PRIORITY) {
      // The priority scheme is deprecated (section 5.3.2); its five octets are skipped.
      if (fragment.length < 5) throw sizeError('HEADERS')
      block = fragment.subarray(5)
    }
    const open: OpenBlock = {
      type: raw.type === FrameType.HEADERS ? 'headers' : 'push_promise',
      streamId: raw.streamId,
      endStream: (raw.flags & Flag.END_STREAM) !== 0,
      promisedId,
      parts: [block],
      length: block.length,
    }
    if (raw.flags & Flag.END_HEADERS) return finishBlock(open)
    this.open = open
    return undefined
  }

  private continueBlock(open: OpenBlock, raw: RawFrame): Frame | undefined {
    if (raw.type !== FrameType.CONTINUATION || raw.streamId !== open.streamId) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted')
    }
    open.parts.push(raw.payload)
    open.length += raw.payload.length
    if (open.length > this.maxHeaderBlock) {
      // Refused as ENHANCE_YOUR_CALM: a block this large is an attack or a broken peer.
      throw new H2ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large')
    }
    if (!(raw.flags & Flag.END_HEADERS)) return undefined
    this.open = undefined
    return finishBlock(open)
  }
}

function finishBlock(open: OpenBlock): Frame {
  const block = concat(open.parts)
  if (open.type === 'headers') {
    return { type: 'headers', streamId: open.streamId, endStream: open.endStream, block }
  }
  return { type: 'push_promise', streamId: open.streamId, promisedId: open.promisedId, block }
}

const sizeError = (what: string) =>
  new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, `${what} frame of the wrong length`)

function requireStream(raw: RawFrame) {
  if (raw.streamId === 0) {
    throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `frame type ${raw.type} on stream 0`)
  }
}

function requireConnection(raw: RawFrame) {
  if (raw.streamId !== 0) {
    throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `frame type ${raw.type} on a stream`)
  }
}

/** The payload without padding (section 6.1): a pad length at least the payload is an error. */
function unpad(raw: RawFrame): Uint8Array {
  if (!(raw.flags & Flag.PADDED)) return raw.payload
  const padLength = raw.payload[0]
  if (padLength === undefined || padLength >= raw.payload.length) {
    throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'padding fills the frame')
  }
  return raw.payload.subarray(1, raw.payload.length - padLength)
}

function decodeFrame(raw: RawFrame): Frame {
  const { payload, streamId } = raw
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  switch (raw.type) {
    case FrameType.DATA: {
      requireStream(raw)
      const data = unpad(raw)
      const endStream = (raw.flags & Flag.END_STREAM) !== 0
      // Flow control counts the whole payload, padding included (section 6.9.1).
      return { type: 'data', streamId, endStream, data, flowLength: payload.length }
    }
    case FrameType.PRIORITY:
      requireStream(raw)
      if (payload.length !== 5) throw sizeError('PRIORITY')
      return { type: 'priority', streamId }
    case FrameType.RST_STREAM:
      requireStream(raw)
      if (payload.length !== 4) throw sizeError('RST_STREAM')
      return { type: 'rst_stream', streamId, code: view.getUint32(0) }
    case FrameType.SETTINGS:
      return decodeSettings(raw, view)
    case FrameType.PING:
      requireConnection(raw)
      if (payload.length !== 8) throw sizeError('PING')
      return { type: 'ping', ack: (raw.flags & Flag.ACK) !== 0, data: payload }
    case FrameType.GOAWAY:
      requireConnection(raw)
      if (payload.length < 8) throw sizeError('GOAWAY')
      return {
        type: 'goaway',
        lastStreamId: view.getUint32(0) & MAX_STREAM_ID,
        code: view.getUint32(4),
        debug: payload.subarray(8),
      }
    case FrameType.WINDOW_UPDATE: {
      if (payload.length !== 4) throw sizeError('WINDOW_UPDATE')
      const increment = view.getUint32(0) & MAX_WINDOW
      // Zero is a stream error on a stream; connection.ts resets it. On stream 0 it ends all.
      if (increment === 0 && streamId === 0) {
        throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0')
      }
      return { type: 'window_update', streamId, increment }
    }
    default:
      // Unknown types are ignored (section 5.5).
      return { type: 'unknown', frameType: raw.type, streamId }
  }
}

function decodeSettings(raw: RawFrame, view: DataView): Frame {
  requireConnection(raw)
  if (raw.flags & Flag.ACK) {
    if (raw.payload.length !== 0) throw sizeError('SETTINGS ACK')
    return { type: 'settings', ack: true }
  }
  if (raw.payload.length % 6 !== 0) throw sizeError('SETTINGS')
  const settings: [number, number][] = []
  for (let at = 0; at < raw.payload.length; at += 6) {
    const id = view.getUint16(at)
    const value = view.getUint32(at + 2)
    checkSetting(id, value)
    settings.push([id, value])
  }
  return { type: 'settings', ack: false, settings }
}

function checkSetting(id: number, value: number) {
  if (id === Setting.ENABLE_PUSH && value > 1) {
    throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1')
  }
  if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) {
    throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too big')
  }
  if (id === Setting.MAX_FRAME_SIZE && (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)) {
    throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range')
  }
}
