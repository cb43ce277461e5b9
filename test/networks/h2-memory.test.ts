/**
 * The HTTP/2 client frame by frame, against a scripted server over an in-memory pipe
 * (test/fakes/h2-peer.ts): the edge cases a well-behaved server such as nghttp2 never produces
 * on demand, and the exact frames the client writes in reply.
 */
import { describe, expect, it } from 'vitest'
import { H2Error } from '../../src/networks/apns/h2/errors'
import {
  CONNECTION_PREFACE,
  ErrorCode,
  encodeFrame,
  FrameType,
  Setting,
} from '../../src/networks/apns/h2/frames'
import { type RawFrame, ScriptedPeer, settingsOf, words } from '../fakes/h2-peer'

const GET = { method: 'GET', path: '/3/device/abc' }

async function failure(promise: Promise<unknown>): Promise<H2Error> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(H2Error)
  return error as H2Error
}

/** A peer past the handshake: the client's SETTINGS read, the server's sent (with `pairs`). */
async function connected(...pairs: [number, number][]) {
  const peer = new ScriptedPeer()
  await peer.handshake(...pairs)
  return peer
}

const goawayCode = (frame: RawFrame) => words(frame.payload)[1]

describe('h2 connection setup', () => {
  it('sends the preface and SETTINGS with push disabled, and acknowledges the server SETTINGS', async () => {
    const peer = new ScriptedPeer()
    const { settings, ack } = await peer.handshake([Setting.MAX_CONCURRENT_STREAMS, 10])
    expect(peer.preface).toEqual(CONNECTION_PREFACE)
    expect(settings.flags).toBe(0)
    expect(settingsOf(settings.payload)).toContainEqual([Setting.ENABLE_PUSH, 0])
    expect(ack).toMatchObject({ type: FrameType.SETTINGS, flags: 0x1, streamId: 0 })
    expect(ack.payload).toHaveLength(0)
  })

  it('answers PING with an ACK carrying the same octets', async () => {
    const peer = await connected()
    const data = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)
    peer.send(encodeFrame(FrameType.PING, 0, 0, data))
    const pong = await peer.nextOf(FrameType.PING)
    expect(pong).toMatchObject({ flags: 0x1, streamId: 0, payload: data })
  })

  it('opens one stream until the server SETTINGS arrive, then as many as it allows', async () => {
    const peer = new ScriptedPeer()
    await peer.next()
    const responses = Array.from({ length: 5 }, () => peer.connection.request(GET))
    expect((await peer.request()).streamId).toBe(1)
    expect(await peer.quiet()).toEqual([])
    expect(peer.connection.stats).toMatchObject({ openStreams: 1, queued: 4 })

    peer.settings([Setting.MAX_CONCURRENT_STREAMS, 2])
    expect((await peer.request()).streamId).toBe(3)
    expect((await peer.quiet()).filter((f) => f.type === FrameType.HEADERS)).toEqual([])

    peer.respond(1)
    expect((await peer.request()).streamId).toBe(5)
    peer.settings([Setting.MAX_CONCURRENT_STREAMS, 100])
    expect((await peer.request()).streamId).toBe(7)
    expect((await peer.request()).streamId).toBe(9)
    for (const id of [3, 5, 7, 9]) peer.respond(id)
    const answered = await Promise.all(responses)
    expect(answered.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
  })

  it('signals a smaller HPACK table when the server asks for one', async () => {
    const peer = await connected([Setting.HEADER_TABLE_SIZE, 0])
    void peer.connection.request(GET)
    const first = await peer.nextOf(FrameType.HEADERS)
    // 001 00000: dynamic table size update to 0, before the first field.
    expect(first.payload[0]).toBe(0x20)
  })
})

describe('h2 frames the client sends', () => {
  it('splits a large header block into HEADERS and CONTINUATION within the frame size', async () => {
    const peer = await connected()
    const value = 'v'.repeat(40_000)
    void peer.connection.request({ ...GET, headers: { 'x-large': value } })
    const frames = [await peer.nextOf(FrameType.HEADERS), await peer.next(), await peer.next()]
    expect(frames.map((f) => [f.type, f.flags, f.payload.length <= 16_384])).toEqual([
      [FrameType.HEADERS, 0x1, true],
      [FrameType.CONTINUATION, 0, true],
      [FrameType.CONTINUATION, 0x4, true],
    ])
    const block = new Uint8Array(frames.reduce((n, f) => n + f.payload.length, 0))
    let at = 0
    for (const frame of frames) {
      block.set(frame.payload, at)
      at += frame.payload.length
    }
    expect(peer.decoder.decode(block)).toContainEqual(['x-large', value])
  })

  it('never indexes the authorization header', async () => {
    const peer = await connected()
    const headers = { authorization: 'bearer token.value.sig' }
    void peer.connection.request({ ...GET, headers })
    void peer.connection.request({ ...GET, headers })
    const first = await peer.request()
    const second = await peer.request()
    expect(first.fields).toContainEqual(['authorization', 'bearer token.value.sig'])
    expect(second.fields).toContainEqual(['authorization', 'bearer token.value.sig'])
    expect(peer.decoder.dynamicTable.entries.map(([name]) => name)).not.toContain('authorization')
  })

  it('sends DATA within the server windows and resumes on WINDOW_UPDATE and SETTINGS', async () => {
    const peer = await connected(
      [Setting.INITIAL_WINDOW_SIZE, 10],
      [Setting.MAX_FRAME_SIZE, 20_000],
    )
    const body = Uint8Array.from({ length: 100 }, (_, i) => i)
    const response = peer.connection.request({ method: 'POST', path: '/p', body })
    const { endStream } = await peer.request()
    expect(endStream).toBe(false)
    const sent: number[] = []
    const take = async () => {
      const frame = await peer.nextOf(FrameType.DATA)
      sent.push(...frame.payload)
      return frame
    }
    expect((await take()).payload).toHaveLength(10)
    expect(await peer.quiet()).toEqual([])

    peer.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, Uint8Array.of(0, 0, 0, 30)))
    expect((await take()).payload).toHaveLength(30)
    // The initial window shrinks by 5: this stream's window goes to -5 (RFC 9113 section 6.9.2).
    peer.settings([Setting.INITIAL_WINDOW_SIZE, 5])
    peer.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, Uint8Array.of(0, 0, 0, 10)))
    expect((await take()).payload).toHaveLength(5)
    peer.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, Uint8Array.of(0, 0, 1, 0)))
    const last = await take()
    expect(last).toMatchObject({ flags: 0x1 })
    expect(last.payload).toHaveLength(55)
    expect(Uint8Array.from(sent)).toEqual(body)

    peer.respond(1)
    expect((await response).status).toBe(200)
  })

  it('stops at the connection window and cuts DATA to the max frame size', async () => {
    const peer = await connected([Setting.INITIAL_WINDOW_SIZE, 1_000_000])
    const body = new Uint8Array(70_000)
    void peer.connection.request({ method: 'POST', path: '/p', body })
    await peer.request()
    const sizes: number[] = []
    while (sizes.reduce((a, b) => a + b, 0) < 65_535) {
      sizes.push((await peer.nextOf(FrameType.DATA)).payload.length)
    }
    expect(sizes).toEqual([16_384, 16_384, 16_384, 16_383])
    expect(await peer.quiet()).toEqual([])
    peer.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Uint8Array.of(0, 0, 0x27, 0x10)))
    const last = await peer.nextOf(FrameType.DATA)
    expect(last.flags).toBe(0x1)
    expect(last.payload).toHaveLength(70_000 - 65_535)
  })

  it('gives received DATA back with WINDOW_UPDATE, padding included', async () => {
    const peer = await connected()
    const response = peer.connection.request(GET)
    await peer.request()
    peer.headers(1, [[':status', '200']])
    // Three padded frames of 12,000 octets: a pad length octet, 11,744 of data, 255 of padding.
    const padded = new Uint8Array(12_000)
    padded[0] = 255
    for (let i = 0; i < 3; i++) peer.send(encodeFrame(FrameType.DATA, 0x8, 1, padded))
    const updates = [await peer.nextOf(FrameType.WINDOW_UPDATE), await peer.next()]
    expect(updates.map((f) => [f.streamId, words(f.payload)[0]]).sort()).toEqual([
      [0, 36_000],
      [1, 36_000],
    ])
    peer.data(1, '', true)
    expect((await response).body).toHaveLength(3 * 11_744)
  })
})

describe('h2 frames the client receives', () => {
  it('answers 1xx first, then reassembles a padded, prioritised HEADERS with CONTINUATION', async () => {
    const peer = await connected()
    const response = peer.connection.request(GET)
    await peer.request()
    peer.headers(1, [[':status', '100']])
    const block = peer.encoder.encode([
      [':status', '200'],
      ['apns-id', 'eabeae54-14a8-11e5-b60b-1697f925ec7b'],
      ['x-long', 'l'.repeat(300)],
    ])
    // PADDED | PRIORITY: pad length 3, five octets of priority, first 100 octets, 3 of padding.
    const first = Uint8Array.from([3, 0, 0, 0, 0, 16, ...block.subarray(0, 100), 0, 0, 0])
    peer.send(
      encodeFrame(FrameType.HEADERS, 0x8 | 0x20, 1, first),
      encodeFrame(FrameType.CONTINUATION, 0, 1, block.subarray(100, 200)),
      encodeFrame(FrameType.CONTINUATION, 0x4, 1, block.subarray(200)),
      encodeFrame(FrameType.PRIORITY, 0, 1, new Uint8Array(5)),
    )
    peer.data(1, '{"reason":"BadDeviceToken"}', true)
    const answer = await response
    expect(answer.status).toBe(200)
    expect(answer.headers['apns-id']).toBe('eabeae54-14a8-11e5-b60b-1697f925ec7b')
    expect(answer.headers['x-long']).toHaveLength(300)
    expect(new TextDecoder().decode(answer.body)).toBe('{"reason":"BadDeviceToken"}')
  })

  it('ends the connection with PROTOCOL_ERROR when a header block is interrupted', async () => {
    const peer = await connected()
    const response = failure(peer.connection.request(GET))
    await peer.request()
    peer.send(
      encodeFrame(FrameType.HEADERS, 0, 1, peer.encoder.encode([[':status', '200']])),
      encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
    )
    const goaway = await peer.nextOf(FrameType.GOAWAY)
    expect(goawayCode(goaway)).toBe(ErrorCode.PROTOCOL_ERROR)
    expect(await response).toMatchObject({
      kind: 'connection',
      retryable: true,
      code: ErrorCode.PROTOCOL_ERROR,
    })
    expect(peer.connection.isUsable()).toBe(false)
    await peer.connection.closed
    expect(peer.transportClosed).toBe(true)
  })

  it('ends the connection with FRAME_SIZE_ERROR on a frame over 16384 octets', async () => {
    const peer = await connected()
    const response = failure(peer.connection.request(GET))
    await peer.request()
    peer.send(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(16_385)))
    expect(goawayCode(await peer.nextOf(FrameType.GOAWAY))).toBe(ErrorCode.FRAME_SIZE_ERROR)
    expect((await response).code).toBe(ErrorCode.FRAME_SIZE_ERROR)
  })

  it('ends the connection with COMPRESSION_ERROR on a bad header block', async () => {
    const peer = await connected()
    const response = failure(peer.connection.request(GET))
    await peer.request()
    peer.send(encodeFrame(FrameType.HEADERS, 0x4 | 0x1, 1, Uint8Array.of(0x80)))
    expect(goawayCode(await peer.nextOf(FrameType.GOAWAY))).toBe(ErrorCode.COMPRESSION_ERROR)
    expect((await response).code).toBe(ErrorCode.COMPRESSION_ERROR)
  })

  it('ends the connection on a frame for a stream it never opened', async () => {
    const peer = await connected()
    void peer.connection.request(GET).catch(() => {})
    await peer.request()
    peer.headers(5, [[':status', '200']], true)
    expect(goawayCode(await peer.nextOf(FrameType.GOAWAY))).toBe(ErrorCode.PROTOCOL_ERROR)
  })

  it('refuses PUSH_PROMISE with RST_STREAM until its SETTINGS are acknowledged, then ends the connection', async () => {
    const peer = await connected()
    const response = failure(peer.connection.request(GET))
    await peer.request()
    const promise = (id: number) =>
      encodeFrame(
        FrameType.PUSH_PROMISE,
        0x4,
        1,
        Uint8Array.from([0, 0, 0, id, ...peer.encoder.encode([[':path', `/pushed/${id}`]])]),
      )
    peer.send(promise(2))
    const refused = await peer.nextOf(FrameType.RST_STREAM)
    expect(refused.streamId).toBe(2)
    expect(words(refused.payload)).toEqual([ErrorCode.REFUSED_STREAM])

    peer.send(encodeFrame(FrameType.SETTINGS, 0x1, 0), promise(4))
    expect(goawayCode(await peer.nextOf(FrameType.GOAWAY))).toBe(ErrorCode.PROTOCOL_ERROR)
    expect((await response).kind).toBe('connection')
  })

  it('fails a reset stream with its code and answers the others', async () => {
    const peer = await connected()
    const reset = failure(peer.connection.request(GET))
    const fine = peer.connection.request(GET)
    await peer.request()
    await peer.request()
    peer.send(encodeFrame(FrameType.RST_STREAM, 0, 1, Uint8Array.of(0, 0, 0, ErrorCode.CANCEL)))
    peer.respond(3, 'fine')
    expect(await reset).toMatchObject({ kind: 'reset', code: ErrorCode.CANCEL, retryable: false })
    expect(new TextDecoder().decode((await fine).body)).toBe('fine')
  })

  it('resets malformed responses and fails them as malformed', async () => {
    const peer = await connected()
    const cases = [
      () => peer.headers(1, [['x-no-status', '1']], true),
      () => {
        peer.headers(3, [
          [':status', '200'],
          ['content-length', '5'],
        ])
        peer.data(3, 'abc', true)
      },
      () => peer.data(5, 'body first', true),
      () =>
        peer.headers(
          7,
          [
            [':status', '200'],
            ['Upper', 'x'],
          ],
          true,
        ),
      () =>
        peer.headers(
          9,
          [
            [':status', '200'],
            ['connection', 'close'],
          ],
          true,
        ),
    ]
    const responses = cases.map(() => failure(peer.connection.request(GET)))
    for (const script of cases) {
      await peer.request()
      script()
    }
    for (const [i, response] of responses.entries()) {
      expect(await response).toMatchObject({ kind: 'malformed', retryable: false })
      const reset = await peer.nextOf(FrameType.RST_STREAM)
      expect([reset.streamId, words(reset.payload)[0]]).toEqual([
        i * 2 + 1,
        ErrorCode.PROTOCOL_ERROR,
      ])
    }
    expect(peer.connection.isUsable()).toBe(true)
  })
})

describe('h2 failures', () => {
  it('times out with RST_STREAM CANCEL and keeps HPACK in step with blocks for that stream', async () => {
    const peer = await connected()
    const late = failure(peer.connection.request(GET, { timeoutMs: 50 }))
    await peer.request()
    expect(await late).toMatchObject({ kind: 'timeout', retryable: true })
    const cancel = await peer.nextOf(FrameType.RST_STREAM)
    expect([cancel.streamId, words(cancel.payload)[0]]).toEqual([1, ErrorCode.CANCEL])

    // The server answers anyway, adding `x-late` to its table, then refers to it by index.
    peer.respond(1, 'too late', [['x-late', 'yes']])
    const next = peer.connection.request(GET)
    expect((await peer.request()).streamId).toBe(3)
    peer.respond(3, 'on time', [['x-late', 'yes']])
    const answer = await next
    expect(answer.headers['x-late']).toBe('yes')
    expect(new TextDecoder().decode(answer.body)).toBe('on time')
  })

  it('times out a request still waiting for a stream, without a frame', async () => {
    const peer = await connected([Setting.MAX_CONCURRENT_STREAMS, 1])
    void peer.connection.request(GET).catch(() => {})
    const queued = failure(peer.connection.request(GET, { timeoutMs: 50 }))
    await peer.request()
    expect((await queued).kind).toBe('timeout')
    expect((await peer.quiet()).filter((f) => f.type !== FrameType.SETTINGS)).toEqual([])
    expect(peer.connection.stats).toMatchObject({ openStreams: 1, queued: 0 })
  })

  it('on GOAWAY fails the streams above last-stream-id and the queued ones, finishes the rest, then closes', async () => {
    const peer = await connected([Setting.MAX_CONCURRENT_STREAMS, 2])
    const kept = peer.connection.request(GET)
    const dropped = [1, 2, 3].map(() => failure(peer.connection.request(GET)))
    await peer.request()
    await peer.request()
    peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0)))
    for (const error of await Promise.all(dropped)) {
      expect(error).toMatchObject({ kind: 'goaway', retryable: true, code: ErrorCode.NO_ERROR })
    }
    expect(peer.connection.isUsable()).toBe(false)
    expect((await failure(peer.connection.request(GET))).kind).toBe('goaway')
    expect(peer.transportClosed).toBe(false)

    peer.respond(1, 'kept')
    expect(new TextDecoder().decode((await kept).body)).toBe('kept')
    await peer.connection.closed
    expect(peer.transportClosed).toBe(true)
  })

  it('fails every request as a retryable connection error when the server hangs up', async () => {
    const peer = await connected([Setting.MAX_CONCURRENT_STREAMS, 1])
    const all = [1, 2, 3].map(() => failure(peer.connection.request(GET)))
    await peer.request()
    peer.hangUp()
    for (const error of await Promise.all(all)) {
      expect(error).toMatchObject({ kind: 'connection', retryable: true })
    }
    await peer.connection.closed
    expect(peer.connection.isUsable()).toBe(false)
  })

  it('resolves an answer that comes before the body was sent, and cancels the rest', async () => {
    const peer = await connected([Setting.INITIAL_WINDOW_SIZE, 10])
    const response = peer.connection.request({
      method: 'POST',
      path: '/p',
      body: new Uint8Array(50),
    })
    await peer.request()
    await peer.nextOf(FrameType.DATA)
    peer.headers(1, [[':status', '413']], true)
    expect((await response).status).toBe(413)
    const cancel = await peer.nextOf(FrameType.RST_STREAM)
    expect(words(cancel.payload)).toEqual([ErrorCode.CANCEL])
  })

  it('refuses what HTTP/2 cannot send', async () => {
    const peer = await connected()
    const { connection } = peer
    await expect(connection.request(GET, { timeoutMs: 10_001 })).rejects.toThrow(RangeError)
    await expect(connection.request({ ...GET, headers: { connection: 'close' } })).rejects.toThrow(
      TypeError,
    )
    await expect(
      connection.request({ ...GET, headers: { 'x-a': 'line\r\nbreak' } }),
    ).rejects.toThrow(TypeError)
    await expect(connection.request({ ...GET, path: 'no-slash' })).rejects.toThrow(TypeError)
  })

  it('fails everything as a connection error after close()', async () => {
    const peer = await connected()
    const pending = failure(peer.connection.request(GET))
    await peer.request()
    await peer.connection.close()
    expect(await pending).toMatchObject({ kind: 'connection', retryable: true })
    expect(goawayCode(await peer.nextOf(FrameType.GOAWAY))).toBe(ErrorCode.NO_ERROR)
    expect(peer.transportClosed).toBe(true)
  })
})
