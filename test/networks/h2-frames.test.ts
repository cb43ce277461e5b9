/**
 * HTTP/2 frame encoding and the streaming FrameReader (RFC 9113 sections 4 and 6): frames cut at
 * any octet boundary, padding and priority fields removed, header blocks reassembled from
 * CONTINUATION, and every per-frame rule that makes a connection error, with its error code.
 */
import { describe, expect, it } from 'vitest'
import {
  concat,
  ErrorCode,
  encodeFrame,
  type Frame,
  FrameReader,
  FrameType,
  goawayFrame,
  H2ProtocolError,
  headersFrames,
  pingFrame,
  rstStreamFrame,
  Setting,
  settingsAckFrame,
  settingsFrame,
  windowUpdateFrame,
} from '../../src/networks/apns/h2/frames'

const bytes = (...values: number[]) => Uint8Array.from(values)

/** Feeds `input` one octet at a time: frames must not depend on how TCP cut the stream. */
function readByteByByte(input: Uint8Array): Frame[] {
  const reader = new FrameReader()
  const frames: Frame[] = []
  for (let i = 0; i < input.length; i++) frames.push(...reader.push(input.subarray(i, i + 1)))
  return frames
}

function protocolError(input: Uint8Array): number | undefined {
  try {
    new FrameReader().push(input)
  } catch (error) {
    if (error instanceof H2ProtocolError) return error.code
    throw error
  }
  return undefined
}

describe('frame encoding', () => {
  it('writes the nine-octet header: length, type, flags, stream id without the reserved bit', () => {
    expect(encodeFrame(FrameType.DATA, 0x1, 0x8000_0003, bytes(0xaa, 0xbb))).toEqual(
      bytes(0, 0, 2, 0, 1, 0, 0, 0, 3, 0xaa, 0xbb),
    )
    expect(settingsFrame([[Setting.ENABLE_PUSH, 0]])).toEqual(
      bytes(0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0),
    )
    expect(settingsAckFrame()).toEqual(bytes(0, 0, 0, 4, 1, 0, 0, 0, 0))
    expect(windowUpdateFrame(3, 65_535)).toEqual(bytes(0, 0, 4, 8, 0, 0, 0, 0, 3, 0, 0, 0xff, 0xff))
    expect(rstStreamFrame(5, ErrorCode.CANCEL)).toEqual(
      bytes(0, 0, 4, 3, 0, 0, 0, 0, 5, 0, 0, 0, 8),
    )
    expect(goawayFrame(7, ErrorCode.PROTOCOL_ERROR)).toEqual(
      bytes(0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1),
    )
  })

  it('splits a header block at the max frame size, END_STREAM first and END_HEADERS last', () => {
    const block = Uint8Array.from({ length: 40_000 }, (_, i) => i % 256)
    const wire = headersFrames(1, block, true, 16_384)
    const reader = new FrameReader()
    expect(reader.push(wire)).toEqual([{ type: 'headers', streamId: 1, endStream: true, block }])
    // HEADERS (END_STREAM), CONTINUATION, CONTINUATION (END_HEADERS)
    expect([wire[3], wire[4]]).toEqual([FrameType.HEADERS, 0x1])
    expect([wire[9 + 16_384 + 3], wire[9 + 16_384 + 4]]).toEqual([FrameType.CONTINUATION, 0])
    const third = 2 * (9 + 16_384)
    expect([wire[third + 3], wire[third + 4]]).toEqual([FrameType.CONTINUATION, 0x4])
    expect(wire.length).toBe(40_000 + 3 * 9)
  })

  it('sends an empty header block as one HEADERS frame', () => {
    expect(headersFrames(3, new Uint8Array(0), false, 16_384)).toEqual(
      bytes(0, 0, 0, 1, 0x4, 0, 0, 0, 3),
    )
  })
})

describe('FrameReader', () => {
  it('reads every frame type whatever the chunking', () => {
    const input = concat([
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, 1],
        [Setting.INITIAL_WINDOW_SIZE, 1000],
      ]),
      settingsAckFrame(),
      pingFrame(bytes(1, 2, 3, 4, 5, 6, 7, 8), true),
      windowUpdateFrame(0, 100),
      rstStreamFrame(1, ErrorCode.REFUSED_STREAM),
      encodeFrame(FrameType.GOAWAY, 0, 0, bytes(0, 0, 0, 9, 0, 0, 0, 0, 0x64, 0x65)),
      encodeFrame(FrameType.PRIORITY, 0, 3, new Uint8Array(5)),
      encodeFrame(0xfa, 0, 0, bytes(1, 2)),
      encodeFrame(FrameType.DATA, 0x1, 1, bytes(104, 105)),
    ])
    expect(readByteByByte(input)).toEqual([
      {
        type: 'settings',
        ack: false,
        settings: [
          [Setting.MAX_CONCURRENT_STREAMS, 1],
          [Setting.INITIAL_WINDOW_SIZE, 1000],
        ],
      },
      { type: 'settings', ack: true },
      { type: 'ping', ack: true, data: bytes(1, 2, 3, 4, 5, 6, 7, 8) },
      { type: 'window_update', streamId: 0, increment: 100 },
      { type: 'rst_stream', streamId: 1, code: ErrorCode.REFUSED_STREAM },
      { type: 'goaway', lastStreamId: 9, code: 0, debug: bytes(0x64, 0x65) },
      { type: 'priority', streamId: 3 },
      { type: 'unknown', frameType: 0xfa, streamId: 0 },
      { type: 'data', streamId: 1, endStream: true, data: bytes(104, 105), flowLength: 2 },
    ])
  })

  it('removes padding from DATA but counts it for flow control', () => {
    const [frame] = new FrameReader().push(
      encodeFrame(FrameType.DATA, 0x8, 1, bytes(3, 0x61, 0x62, 0, 0, 0)),
    )
    expect(frame).toEqual({
      type: 'data',
      streamId: 1,
      endStream: false,
      data: bytes(0x61, 0x62),
      flowLength: 6,
    })
  })

  it('reassembles a padded, prioritised HEADERS with its CONTINUATION frames', () => {
    const reader = new FrameReader()
    expect(
      reader.push(
        encodeFrame(FrameType.HEADERS, 0x8 | 0x20 | 0x1, 5, bytes(2, 0, 0, 0, 1, 9, 0x82, 0, 0)),
      ),
    ).toEqual([])
    expect(reader.push(encodeFrame(FrameType.CONTINUATION, 0, 5, bytes(0x86)))).toEqual([])
    expect(reader.push(encodeFrame(FrameType.CONTINUATION, 0x4, 5, bytes(0x84)))).toEqual([
      { type: 'headers', streamId: 5, endStream: true, block: bytes(0x82, 0x86, 0x84) },
    ])
  })

  it('reads PUSH_PROMISE with its promised stream', () => {
    const frames = new FrameReader().push(
      encodeFrame(FrameType.PUSH_PROMISE, 0x4, 1, bytes(0, 0, 0, 2, 0x82)),
    )
    expect(frames).toEqual([
      { type: 'push_promise', streamId: 1, promisedId: 2, block: bytes(0x82) },
    ])
  })

  it('returns a zero WINDOW_UPDATE on a stream for the connection to reset that stream', () => {
    expect(new FrameReader().push(windowUpdateFrame(3, 0))).toEqual([
      { type: 'window_update', streamId: 3, increment: 0 },
    ])
  })

  it('refuses what RFC 9113 makes a connection error, with its code', () => {
    const P = ErrorCode.PROTOCOL_ERROR
    const S = ErrorCode.FRAME_SIZE_ERROR
    const cases: [string, Uint8Array, number][] = [
      ['DATA on stream 0', encodeFrame(FrameType.DATA, 0, 0, bytes(1)), P],
      ['HEADERS on stream 0', encodeFrame(FrameType.HEADERS, 0x4, 0, bytes(0x82)), P],
      ['padding as long as the payload', encodeFrame(FrameType.DATA, 0x8, 1, bytes(2, 0)), P],
      ['padded DATA with no octet', encodeFrame(FrameType.DATA, 0x8, 1), P],
      ['SETTINGS on a stream', encodeFrame(FrameType.SETTINGS, 0, 1), P],
      ['SETTINGS of 5 octets', encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(5)), S],
      ['SETTINGS ACK with a payload', encodeFrame(FrameType.SETTINGS, 1, 0, new Uint8Array(6)), S],
      ['ENABLE_PUSH 2', settingsFrame([[Setting.ENABLE_PUSH, 2]]), P],
      [
        'INITIAL_WINDOW_SIZE 2^31',
        settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]),
        ErrorCode.FLOW_CONTROL_ERROR,
      ],
      ['MAX_FRAME_SIZE below 16384', settingsFrame([[Setting.MAX_FRAME_SIZE, 16_383]]), P],
      ['MAX_FRAME_SIZE over 2^24-1', settingsFrame([[Setting.MAX_FRAME_SIZE, 2 ** 24]]), P],
      ['PING of 7 octets', encodeFrame(FrameType.PING, 0, 0, new Uint8Array(7)), S],
      ['PING on a stream', encodeFrame(FrameType.PING, 0, 1, new Uint8Array(8)), P],
      ['RST_STREAM of 3 octets', encodeFrame(FrameType.RST_STREAM, 0, 1, new Uint8Array(3)), S],
      ['RST_STREAM on stream 0', rstStreamFrame(0, 0), P],
      ['GOAWAY of 7 octets', encodeFrame(FrameType.GOAWAY, 0, 0, new Uint8Array(7)), S],
      ['GOAWAY on a stream', encodeFrame(FrameType.GOAWAY, 0, 1, new Uint8Array(8)), P],
      ['WINDOW_UPDATE of 0 on the connection', windowUpdateFrame(0, 0), P],
      ['WINDOW_UPDATE of 3 octets', encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, bytes(0, 0, 1)), S],
      ['PRIORITY of 4 octets', encodeFrame(FrameType.PRIORITY, 0, 1, new Uint8Array(4)), S],
      ['CONTINUATION alone', encodeFrame(FrameType.CONTINUATION, 0x4, 1, bytes(0x82)), P],
      [
        'CONTINUATION on another stream',
        concat([
          encodeFrame(FrameType.HEADERS, 0, 1, bytes(0x82)),
          encodeFrame(FrameType.CONTINUATION, 0x4, 3, bytes(0x86)),
        ]),
        P,
      ],
      [
        'another frame inside a header block',
        concat([
          encodeFrame(FrameType.HEADERS, 0, 1, bytes(0x82)),
          encodeFrame(FrameType.DATA, 0, 1, bytes(0)),
        ]),
        P,
      ],
      // Refused from the header alone, before its payload has arrived.
      ['a frame over 16384 octets', bytes(0, 0x40, 0x01, 0, 0, 0, 0, 0, 1), S],
    ]
    for (const [name, input, code] of cases) {
      expect({ name, code: protocolError(input) }).toEqual({ name, code })
    }
  })

  it('refuses a header block that grows past its limit', () => {
    const reader = new FrameReader(16_384, 20_000)
    reader.push(encodeFrame(FrameType.HEADERS, 0, 1, new Uint8Array(16_000)))
    expect(() =>
      reader.push(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(5000))),
    ).toThrow(expect.objectContaining({ code: ErrorCode.ENHANCE_YOUR_CALM }))
  })
})
