import { buildPushPayload, vapidHeaders } from '@block65/webcrypto-web-push'
import { base64url, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  checkVapidPair,
  checkVapidSubject,
  generateVapidKeys,
} from '../../src/networks/webpush/vapid-keys'

// A browser PushSubscription with real keys, as a user agent would hand it out.
async function subscription() {
  const { publicKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
  const { x, y } = await exportJWK(publicKey)
  const point = new Uint8Array([4, ...base64url.decode(x ?? ''), ...base64url.decode(y ?? '')])
  return {
    endpoint: 'https://push.example.net/send/abc',
    expirationTime: null,
    keys: {
      p256dh: base64url.encode(point),
      auth: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    },
  }
}

describe('generateVapidKeys', () => {
  it('makes a matching pair: 65-byte uncompressed point, 32-byte scalar', async () => {
    const { publicKey, privateKey } = await generateVapidKeys()
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(privateKey).toMatch(/^[A-Za-z0-9_-]+$/)
    const point = base64url.decode(publicKey)
    expect(point.byteLength).toBe(65)
    expect(point[0]).toBe(0x04)
    expect(base64url.decode(privateKey).byteLength).toBe(32)
    expect(await checkVapidPair(publicKey, privateKey)).toBe(true)
  })

  it('makes a new pair every time', async () => {
    const [a, b] = await Promise.all([generateVapidKeys(), generateVapidKeys()])
    expect(a.publicKey).not.toBe(b.publicKey)
    expect(a.privateKey).not.toBe(b.privateKey)
  })
})

describe('checkVapidPair', () => {
  it('refuses two halves of different pairs', async () => {
    const [a, b] = await Promise.all([generateVapidKeys(), generateVapidKeys()])
    expect(await checkVapidPair(a.publicKey, b.privateKey)).toBe(false)
    expect(await checkVapidPair(b.publicKey, a.privateKey)).toBe(false)
  })

  it('refuses wrong lengths, a compressed prefix, padding and other alphabets', async () => {
    const { publicKey, privateKey } = await generateVapidKeys()
    const point = base64url.decode(publicKey)
    const compressed = base64url.encode(new Uint8Array([0x02, ...point.subarray(1)]))
    const standardBase64 = btoa(String.fromCharCode(...point))

    expect(await checkVapidPair(publicKey.slice(0, -2), privateKey)).toBe(false)
    expect(await checkVapidPair(publicKey, privateKey.slice(0, -2))).toBe(false)
    expect(await checkVapidPair(compressed, privateKey)).toBe(false)
    expect(await checkVapidPair(`${publicKey}=`, privateKey)).toBe(false)
    expect(await checkVapidPair(publicKey, `${privateKey}=`)).toBe(false)
    expect(await checkVapidPair(standardBase64, privateKey)).toBe(false)
    expect(await checkVapidPair('', '')).toBe(false)
  })

  it('refuses a point that is not on the curve', async () => {
    const { privateKey } = await generateVapidKeys()
    const offCurve = new Uint8Array(65).fill(1)
    offCurve[0] = 0x04
    expect(await checkVapidPair(base64url.encode(offCurve), privateKey)).toBe(false)
  })
})

describe('the stored form works with @block65/webcrypto-web-push', () => {
  it('signs a VAPID JWT that verifies with the public key', async () => {
    const keys = await generateVapidKeys()
    const sub = await subscription()
    const subject = 'mailto:ops@example.com'
    const { headers } = await vapidHeaders(sub, { subject, ...keys })

    const match = /^vapid t=([^,]+), k=(.+)$/.exec(headers.authorization)
    expect(match?.[2]).toBe(keys.publicKey)
    const point = base64url.decode(keys.publicKey)
    const x = base64url.encode(point.subarray(1, 33))
    const y = base64url.encode(point.subarray(33))
    const publicJwk = await importJWK({ kty: 'EC', crv: 'P-256', x, y }, 'ES256')
    const { payload, protectedHeader } = await jwtVerify(match?.[1] ?? '', publicJwk, {
      audience: 'https://push.example.net',
      subject,
    })
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000)
  })

  it('builds an encrypted aes128gcm request', async () => {
    const keys = await generateVapidKeys()
    const sub = await subscription()
    const message = { data: { alert: 'hello' }, options: { ttl: 60 } }
    const request = await buildPushPayload(message, sub, {
      subject: 'https://example.com',
      ...keys,
    })
    expect(request.headers['content-encoding']).toBe('aes128gcm')
    expect(request.headers.authorization).toContain(`k=${keys.publicKey}`)
    expect(request.body.byteLength).toBe(4096)
  })
})

describe('checkVapidSubject', () => {
  const accepted = [
    'mailto:ops@example.com',
    'MAILTO:Ops@Example.COM',
    'https://example.com/contact',
    'https://push.example.org',
    'https://example.com./',
  ]
  const refused = [
    'mailto:ops@localhost',
    'mailto:ops@LOCALHOST',
    'mailto:ops@printer.local',
    'mailto:ops@app.localhost',
    'mailto:ops@nowhere.invalid',
    'mailto:ops@site.test',
    'mailto:ops@site.example',
    'mailto:ops@127.0.0.1',
    'mailto:ops@[127.0.0.1]',
    'mailto:ops@server',
    'mailto:',
    'mailto:example.com',
    'mailto:a@example.com,b@example.com',
    'https://localhost/',
    'https://localhost./',
    'https://LocalHost:8443/',
    'https://my.app.local/contact',
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://intranet/',
    'http://example.com',
    'ops@example.com',
    'example.com',
    'ftp://example.com',
    '',
  ]

  it.each(accepted)('accepts %s', (subject) => {
    expect(checkVapidSubject(subject)).toBeNull()
  })

  it.each(refused)('refuses %s', (subject) => {
    expect(checkVapidSubject(subject)).toEqual(expect.any(String))
  })

  it('says why', () => {
    expect(checkVapidSubject('http://example.com')).toContain('https:')
    expect(checkVapidSubject('ops@example.com')).toBe(
      'The VAPID subject must be a mailto: address or an https: URL.',
    )
    expect(checkVapidSubject('mailto:ops@localhost')).toContain('local or reserved')
    expect(checkVapidSubject('https://127.0.0.1/')).toContain('IP addresses')
  })
})
