/**
 * Device-token rules of API.md "Device registration" and case 1 of shared/cases, checked through
 * the exported functions only. Web Push subscriptions are made with WebCrypto here, and expected
 * tokens are encoded with btoa rather than the module's jose, so an encoding bug cannot agree
 * with itself.
 */
import { describe, expect, it } from 'vitest'
import { normaliseDeviceToken, type TokenResult } from '../../src/push/device-token'
import { PUSH_SERVICE_ENDPOINTS, REFUSED_ENDPOINTS } from '../push-endpoints'

const secure = { allowInsecure: false }
const insecure = { allowInsecure: true }

const CASE_1_TOKEN = '<1E2122BA 4CCABB8E 7A34072C C71CF262 470B35CD E03F7EE8 D78ACDF0 8159E5A9>'
const CASE_1_HEX = '1e2122ba4ccabb8e7a34072cc71cf262470b35cde03f7ee8d78acdf08159e5a9'

const ENDPOINT = 'https://fcm.googleapis.com/fcm/send/dGVzdC1lbmRwb2ludA:APA91bHx7Qm2-u_Zk9'

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
}

function toBase64url(bytes: Uint8Array): string {
  return toBase64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function hexOf(length: number): string {
  return Array.from({ length }, (_, i) => '0123456789abcdef'[(i * 7) % 16]).join('')
}

function fcmTokenOf(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:'
  return Array.from({ length }, (_, i) => alphabet[(i * 11) % alphabet.length]).join('')
}

/** A real browser-style subscription whose p256dh in standard base64 holds `+` or `/`. */
async function makeSubscription() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
      'deriveBits',
    ])
    if (!('publicKey' in pair)) throw new Error('ECDH generateKey returned a single key')
    const exported = await crypto.subtle.exportKey('raw', pair.publicKey)
    if (!(exported instanceof ArrayBuffer)) throw new Error('raw export is not an ArrayBuffer')

    const publicKey = new Uint8Array(exported)
    if (!/[+/]/.test(toBase64(publicKey))) continue
    const auth = crypto.getRandomValues(new Uint8Array(16))
    return { publicKey, auth }
  }
  throw new Error('no key with + or / in its base64 after 100 attempts')
}

function subscriptionJson(endpoint: string, p256dh: string, auth: string): string {
  return JSON.stringify({ endpoint, keys: { p256dh, auth } })
}

function expectRefused(result: TokenResult): string {
  if (result.ok) throw new Error(`expected a refusal, got token ${result.token}`)
  expect(result.reason).toMatch(/^[A-Z].{10,}\.$/)
  return result.reason
}

/** No run of 12 characters of the secret may appear in the reason. */
function expectNoEcho(reason: string, secret: string) {
  for (let i = 0; i + 12 <= secret.length; i++) {
    expect(reason).not.toContain(secret.slice(i, i + 12))
  }
}

describe('ios_token', () => {
  it('stores case 1 as its 64 lowercase hex digits, the same key as the plain form', async () => {
    const spaced = await normaliseDeviceToken('ios_token', CASE_1_TOKEN, secure)
    const plain = await normaliseDeviceToken('ios_token', CASE_1_HEX, secure)
    const dashed = await normaliseDeviceToken(
      'ios_token',
      CASE_1_HEX.toUpperCase().replace(/(.{8})(?!$)/g, '$1-'),
      secure,
    )

    expect(spaced).toEqual({ ok: true, token: CASE_1_HEX, key: CASE_1_HEX })
    expect(plain).toEqual(spaced)
    expect(dashed).toEqual(spaced)
  })

  it('accepts 160 and 200 hex digits unchanged', async () => {
    for (const length of [160, 200]) {
      const token = hexOf(length)
      expect(await normaliseDeviceToken('ios_token', token, secure)).toEqual({
        ok: true,
        token,
        key: token,
      })
    }
  })

  it('refuses "(null)", empty, odd, short, long and non-hex tokens, unechoed', async () => {
    const refused = [
      '(null)',
      '',
      '<>',
      hexOf(63),
      hexOf(65),
      `${hexOf(63)}g`,
      hexOf(62),
      hexOf(202),
      `${CASE_1_HEX}\t`,
      `${CASE_1_HEX.slice(0, 60)}0x12`,
    ]
    for (const token of refused) {
      const reason = expectRefused(await normaliseDeviceToken('ios_token', token, secure))
      expectNoEcho(reason, token)
    }
  })

  it('names the digit count of an odd token', async () => {
    const reason = expectRefused(await normaliseDeviceToken('ios_token', hexOf(65), secure))
    expect(reason).toContain('even')
    expect(reason).toContain('65')
  })

  it('refuses values that are not strings', async () => {
    for (const raw of [123, null, undefined, [CASE_1_HEX], { token: CASE_1_HEX }]) {
      expectRefused(await normaliseDeviceToken('ios_token', raw, secure))
    }
  })
})

describe('android', () => {
  it('accepts a 152-character FCM token unchanged, and 100 characters', async () => {
    for (const length of [152, 100]) {
      const token = fcmTokenOf(length)
      expect(token).toHaveLength(length)
      expect(await normaliseDeviceToken('android', token, secure)).toEqual({
        ok: true,
        token,
        key: token,
      })
    }
  })

  it('refuses 99 or 4097 characters, spaces, slashes and surrounding whitespace', async () => {
    const valid = fcmTokenOf(152)
    const refused = [
      fcmTokenOf(99),
      fcmTokenOf(4097),
      `${valid.slice(0, 70)} ${valid.slice(70)}`,
      `${valid.slice(0, 70)}/${valid.slice(70)}`,
      ` ${valid}`,
      `${valid}\n`,
      `${valid.slice(0, 70)}=${valid.slice(70)}`,
    ]
    for (const token of refused) {
      const reason = expectRefused(await normaliseDeviceToken('android', token, secure))
      expectNoEcho(reason, token)
    }
  })

  it('refuses values that are not strings', async () => {
    for (const raw of [152, null, [fcmTokenOf(152)], { token: fcmTokenOf(152) }]) {
      expectRefused(await normaliseDeviceToken('android', raw, secure))
    }
  })
})

describe('web_push', () => {
  it('gives one canonical token and the endpoint as key for every accepted spelling', async () => {
    const { publicKey, auth } = await makeSubscription()
    const json = subscriptionJson(ENDPOINT, toBase64url(publicKey), toBase64url(auth))
    const expected = { ok: true, token: json, key: ENDPOINT }

    const spellings: unknown[] = [
      JSON.parse(json),
      json,
      ` ${json}\n`,
      btoa(json),
      toBase64url(new TextEncoder().encode(json)),
    ]
    for (const raw of spellings) {
      expect(await normaliseDeviceToken('web_push', raw, secure)).toEqual(expected)
    }
  })

  it('drops expirationTime and other unknown fields', async () => {
    const { publicKey, auth } = await makeSubscription()
    const raw = {
      endpoint: ENDPOINT,
      expirationTime: null,
      keys: { p256dh: toBase64url(publicKey), auth: toBase64url(auth), extra: 'x' },
      options: { userVisibleOnly: true },
    }

    const result = await normaliseDeviceToken('web_push', raw, secure)

    expect(result).toEqual({
      ok: true,
      token: subscriptionJson(ENDPOINT, toBase64url(publicKey), toBase64url(auth)),
      key: ENDPOINT,
    })
  })

  it('normalises padded standard-alphabet keys to unpadded base64url', async () => {
    const { publicKey, auth } = await makeSubscription()
    const padded = {
      endpoint: ENDPOINT,
      keys: { p256dh: toBase64(publicKey), auth: toBase64(auth) },
    }
    expect(padded.keys.p256dh).toMatch(/[+/].*=$/)
    expect(padded.keys.auth).toMatch(/==$/)

    const result = await normaliseDeviceToken('web_push', padded, secure)

    expect(result).toEqual({
      ok: true,
      token: subscriptionJson(ENDPOINT, toBase64url(publicKey), toBase64url(auth)),
      key: ENDPOINT,
    })
  })

  it('keys a re-subscription with new keys at the same endpoint to the same row', async () => {
    const first = await makeSubscription()
    const second = await makeSubscription()
    const of = (s: typeof first) =>
      subscriptionJson(ENDPOINT, toBase64url(s.publicKey), toBase64url(s.auth))

    const a = await normaliseDeviceToken('web_push', of(first), secure)
    const b = await normaliseDeviceToken('web_push', of(second), secure)

    if (!a.ok || !b.ok) throw new Error('both subscriptions should be accepted')
    expect(a.key).toBe(b.key)
    expect(a.token).not.toBe(b.token)
  })

  it('refuses an http endpoint unless insecure endpoints are allowed', async () => {
    const { publicKey, auth } = await makeSubscription()
    const endpoint = 'http://localhost:8787/push/abc'
    const json = subscriptionJson(endpoint, toBase64url(publicKey), toBase64url(auth))

    const reason = expectRefused(await normaliseDeviceToken('web_push', json, secure))
    const allowed = await normaliseDeviceToken('web_push', json, insecure)

    expect(reason).toContain('https:')
    expect(allowed).toEqual({ ok: true, token: json, key: endpoint })
  })

  it.each(REFUSED_ENDPOINTS)('refuses an endpoint with %s, unechoed', async (_, endpoint) => {
    const { publicKey, auth } = await makeSubscription()
    const json = subscriptionJson(endpoint, toBase64url(publicKey), toBase64url(auth))

    const reason = expectRefused(await normaliseDeviceToken('web_push', json, secure))

    expect(reason).toMatch(/^The subscription endpoint /)
    expectNoEcho(reason, endpoint)
  })

  it('takes IP addresses, local names and ports when insecure endpoints are allowed', async () => {
    const { publicKey, auth } = await makeSubscription()
    const endpoints = [
      'http://127.0.0.1:8787/push/abc',
      'https://[::1]:8443/push/abc',
      'https://printer.local/push/abc',
    ]
    for (const endpoint of endpoints) {
      const json = subscriptionJson(endpoint, toBase64url(publicKey), toBase64url(auth))
      const result = await normaliseDeviceToken('web_push', json, insecure)
      expect(result).toEqual({ ok: true, token: json, key: endpoint })
    }
  })

  it("takes the push services' endpoints, storing port 443 unspelled", async () => {
    const { publicKey, auth } = await makeSubscription()
    const keys = [toBase64url(publicKey), toBase64url(auth)] as const
    for (const endpoint of PUSH_SERVICE_ENDPOINTS) {
      const json = subscriptionJson(endpoint, ...keys)
      const result = await normaliseDeviceToken('web_push', json, secure)
      expect(result).toEqual({ ok: true, token: json, key: endpoint })
    }

    const spelled = ENDPOINT.replace('.com/', '.com:443/')
    const result = await normaliseDeviceToken(
      'web_push',
      subscriptionJson(spelled, ...keys),
      secure,
    )
    expect(result).toEqual({ ok: true, token: subscriptionJson(ENDPOINT, ...keys), key: ENDPOINT })
  })

  it('refuses javascript:, credentials, relative and oversized endpoints', async () => {
    const { publicKey, auth } = await makeSubscription()
    const endpoints = [
      'javascript:alert(document.cookie)',
      'https://user:secret@push.example.com/sub/1',
      '/fcm/send/abc',
      `https://push.example.com/${'a'.repeat(2048)}`,
      'ftp://push.example.com/sub/1',
    ]
    for (const endpoint of endpoints) {
      for (const opts of [secure, insecure]) {
        const raw = { endpoint, keys: { p256dh: toBase64url(publicKey), auth: toBase64url(auth) } }
        const reason = expectRefused(await normaliseDeviceToken('web_push', raw, opts))
        expectNoEcho(reason, endpoint)
      }
    }
  })

  it('refuses a p256dh of 64 bytes, a wrong prefix, and 65 bytes off the curve', async () => {
    const { publicKey, auth } = await makeSubscription()
    const offCurve = publicKey.slice()
    offCurve[64] = (offCurve[64] ?? 0) ^ 1
    const wrongPrefix = publicKey.slice()
    wrongPrefix[0] = 0x05
    const malformed = [publicKey.slice(0, 64), publicKey.slice(1), wrongPrefix]

    for (const key of [...malformed, offCurve]) {
      const p256dh = toBase64url(key)
      const json = subscriptionJson(ENDPOINT, p256dh, toBase64url(auth))
      const reason = expectRefused(await normaliseDeviceToken('web_push', json, secure))
      expect(reason).toContain('p256dh')
      expectNoEcho(reason, p256dh)
      expectNoEcho(reason, ENDPOINT)
      expect(reason).toContain(malformed.includes(key) ? '65 bytes starting with 0x04' : 'curve')
    }
  })

  it('refuses an auth secret of 15 or 17 bytes', async () => {
    const { publicKey } = await makeSubscription()
    for (const length of [15, 17]) {
      const auth = toBase64url(crypto.getRandomValues(new Uint8Array(length)))
      const json = subscriptionJson(ENDPOINT, toBase64url(publicKey), auth)
      const reason = expectRefused(await normaliseDeviceToken('web_push', json, secure))
      expect(reason).toContain('auth')
      expect(reason).toContain('16')
    }
  })

  it('refuses keys that are not base64 at all', async () => {
    const { publicKey, auth } = await makeSubscription()
    const p256dh = toBase64url(publicKey)
    const cases = [
      subscriptionJson(ENDPOINT, `${p256dh.slice(0, 40)}!${p256dh.slice(41)}`, toBase64url(auth)),
      subscriptionJson(ENDPOINT, p256dh, `${toBase64url(auth)}=x`),
      subscriptionJson(ENDPOINT, p256dh, ''),
    ]
    for (const json of cases) {
      expectRefused(await normaliseDeviceToken('web_push', json, secure))
    }
  })

  it('refuses what is not a subscription', async () => {
    const { publicKey, auth } = await makeSubscription()
    const keys = { p256dh: toBase64url(publicKey), auth: toBase64url(auth) }
    const refused: unknown[] = [
      42,
      null,
      undefined,
      [ENDPOINT],
      'hello',
      '{"endpoint":',
      btoa('[1,2,3]'),
      JSON.stringify([{ endpoint: ENDPOINT, keys }]),
      { endpoint: ENDPOINT },
      { keys },
      { endpoint: 42, keys },
      JSON.stringify({ endpoint: ENDPOINT, keys }).repeat(2),
    ]
    for (const raw of refused) {
      expectRefused(await normaliseDeviceToken('web_push', raw, secure))
    }
  })

  it('refuses subscription text over 8192 characters, even valid JSON', async () => {
    const { publicKey, auth } = await makeSubscription()
    const json = subscriptionJson(ENDPOINT, toBase64url(publicKey), toBase64url(auth))
    const padded = json.padEnd(8193, ' ')
    expect(await normaliseDeviceToken('web_push', json.padEnd(8192, ' '), secure)).toMatchObject({
      ok: true,
    })

    const reason = expectRefused(await normaliseDeviceToken('web_push', padded, secure))

    expect(reason).toContain('8192')
  })

  it('names the missing field', async () => {
    const { publicKey } = await makeSubscription()
    const raw = { endpoint: ENDPOINT, keys: { p256dh: toBase64url(publicKey) } }

    const reason = expectRefused(await normaliseDeviceToken('web_push', raw, secure))

    expect(reason).toContain('keys.auth')
  })
})
