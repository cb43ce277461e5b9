/**
 * The HTTP semantics of HTTP/2 messages (RFC 9113 section 8) as pure functions: the header list
 * a request becomes, and which response header blocks are well-formed.
 */
import { describe, expect, it } from 'vitest'
import {
  type H2Request,
  parseResponseHead,
  prepareRequest,
} from '../../src/networks/apns/h2/message'

const DEFAULTS = { authority: 'api.push.apple.com', scheme: 'https' as const }

describe('prepareRequest', () => {
  it('puts the pseudo-headers first, lower-cases names and adds content-length', () => {
    const prepared = prepareRequest(
      {
        method: 'POST',
        path: '/3/device/abc',
        headers: { 'APNs-Topic': 'com.example.app', authorization: 'bearer x' },
        body: 'héllo',
      },
      DEFAULTS,
    )
    expect(prepared.fields).toEqual([
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'api.push.apple.com'],
      [':path', '/3/device/abc'],
      ['apns-topic', 'com.example.app'],
      ['authorization', 'bearer x'],
      ['content-length', '6'],
    ])
    expect(prepared.body).toEqual(new TextEncoder().encode('héllo'))
  })

  it('keeps a caller content-length and adds none without a body', () => {
    const withLength = prepareRequest(
      { method: 'POST', path: '/', headers: { 'content-length': '2' }, body: 'ab' },
      DEFAULTS,
    )
    expect(withLength.fields.filter(([name]) => name === 'content-length')).toHaveLength(1)
    const empty = prepareRequest({ method: 'GET', path: '/', scheme: 'http' }, DEFAULTS)
    expect(empty.fields).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':authority', 'api.push.apple.com'],
      [':path', '/'],
    ])
  })

  it('refuses what HTTP/2 cannot carry', () => {
    const refused: H2Request[] = [
      { method: 'GET', path: '/', headers: { 'transfer-encoding': 'chunked' } },
      { method: 'GET', path: '/', headers: { host: 'x' } },
      { method: 'GET', path: '/', headers: { te: 'gzip' } },
      { method: 'GET', path: '/', headers: { ':path': '/x' } },
      { method: 'GET', path: '/', headers: { 'bad name': 'x' } },
      { method: 'GET', path: '/', headers: { 'x-a': ' padded' } },
      { method: 'GET', path: '/', headers: { 'x-a': 'nul\0' } },
      { method: 'G T', path: '/' },
      { method: 'GET', path: '/a b' },
    ]
    for (const request of refused)
      expect(() => prepareRequest(request, DEFAULTS)).toThrow(TypeError)
    expect(() => prepareRequest({ method: 'GET', path: '/' }, {})).toThrow(/authority/)
    expect(
      prepareRequest({ method: 'GET', path: '/', headers: { te: 'trailers' } }, DEFAULTS),
    ).toBeTruthy()
  })
})

describe('parseResponseHead', () => {
  it('reads the status and joins repeated fields', () => {
    expect(
      parseResponseHead([
        [':status', '410'],
        ['apns-id', 'x'],
        ['vary', 'a'],
        ['vary', 'b'],
        ['content-length', '42'],
      ]),
    ).toEqual({
      kind: 'final',
      status: 410,
      headers: { 'apns-id': 'x', vary: 'a, b', 'content-length': '42' },
      contentLength: 42,
    })
  })

  it('keeps fields named like object internals as plain fields', () => {
    const head = parseResponseHead([
      [':status', '200'],
      ['__proto__', 'a'],
      ['constructor', 'b'],
    ])
    expect(head.kind === 'final' && Object.entries(head.headers)).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
    ])
  })

  it('tells informational answers from final ones and refuses 101', () => {
    expect(parseResponseHead([[':status', '103']])).toEqual({ kind: 'informational' })
    expect(parseResponseHead([[':status', '101']]).kind).toBe('malformed')
  })

  it('refuses malformed header blocks', () => {
    const malformed = [
      [],
      [[':status', '20']],
      [[':status', '600']],
      [
        [':status', '200'],
        [':status', '200'],
      ],
      [
        ['x', '1'],
        [':status', '200'],
      ],
      [
        [':status', '200'],
        [':path', '/'],
      ],
      [
        [':status', '200'],
        ['X-Upper', '1'],
      ],
      [
        [':status', '200'],
        ['keep-alive', '1'],
      ],
      [
        [':status', '200'],
        ['content-length', '-1'],
      ],
    ] as const
    for (const fields of malformed) {
      expect({ fields, kind: parseResponseHead(fields).kind }).toEqual({
        fields,
        kind: 'malformed',
      })
    }
  })
})
