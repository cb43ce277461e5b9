/**
 * The Web Push adapter: translation, byte counting, VAPID and answer classification as pure
 * functions, then whole batches against the fake push service of test/fakes/webpush.ts, which
 * verifies VAPID and decrypts every body with http_ece, independently of the code under test.
 */
import { encryptNotification } from '@block65/webcrypto-web-push'
import { base64url, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { afterEach, describe, expect, inject, it } from 'vitest'
import type { AdapterContext, Outcome, Target } from '../../src/networks/adapter'
import { parseRetryAfter } from '../../src/networks/retry-after'
import { createWebPushAdapter } from '../../src/networks/webpush/adapter'
import { classifyWebPush } from '../../src/networks/webpush/classify'
import {
  translateWebPush,
  WEB_PUSH_MAX_PLAINTEXT,
  webPushPayloadBytes,
} from '../../src/networks/webpush/translate'
import {
  VAPID_LIFETIME_MS,
  type VapidCredentials,
  vapidAudience,
  vapidAuthorization,
} from '../../src/networks/webpush/vapid'
import { generateVapidKeys } from '../../src/networks/webpush/vapid-keys'
import type { DeliveryOptions, UnifiedMessage } from '../../src/push/message'
import type { Behaviour, Delivery } from '../fakes/webpush'
import { PUSH_SERVICE_ENDPOINTS, REFUSED_ENDPOINTS } from '../push-endpoints'

const PUSH_ID = '0b6f2a8e-3c1d-4e5f-9a7b-1c2d3e4f5a6b'
const OPTIONS: DeliveryOptions = { ttl: undefined, pushMessageId: PUSH_ID }
const SUBJECT = 'mailto:ops@example.com'
const HOUR = 60 * 60 * 1000
const FAKE = inject('webPushFakeUrl')

type Subscription = { endpoint: string; keys: { p256dh: string; auth: string } }

async function credentials(): Promise<VapidCredentials> {
  return { ...(await generateVapidKeys()), subject: SUBJECT }
}

async function subscribe(
  behaviour: Behaviour = 'ok',
  extra: { failures?: number; delayMs?: number; applicationServerKey?: string } = {},
): Promise<Subscription> {
  const response = await fetch(`${FAKE}/_subscribe`, {
    method: 'POST',
    body: JSON.stringify({ behaviour, ...extra }),
  })
  expect(response.status).toBe(201)
  return response.json()
}

async function deliveries(endpoint: string): Promise<Delivery[]> {
  const response = await fetch(`${FAKE}/_deliveries?endpoint=${encodeURIComponent(endpoint)}`)
  return response.json()
}

const target = (token: string, n = 0): Target => ({
  installationId: `installation-${n}`,
  token,
  registeredAt: 0,
})
const targets = (subscriptions: Subscription[]) =>
  subscriptions.map((s, n) => target(JSON.stringify(s), n))

function context(now = Date.now, fetcher: typeof fetch = (input, init) => fetch(input, init)) {
  const ctx: AdapterContext = {
    now,
    fetch: fetcher,
    sharedToken: () => Promise.reject(new Error('Web Push shares no token between isolates')),
  }
  return ctx
}

async function adapter() {
  return createWebPushAdapter({ ...(await credentials()), allowInsecureEndpoints: true })
}

afterEach(async () => {
  // Every request the adapter made hit a subscription the fake handed out.
  const response = await fetch(`${FAKE}/_unexpected`)
  expect(await response.json()).toEqual([])
})

describe('translateWebPush', () => {
  it('writes the UPS web payload and the RFC 8030 headers', () => {
    const message: UnifiedMessage = {
      alert: 'Your order shipped',
      sound: 'default',
      badge: 3,
      priority: 'normal',
      'user-data': { orderId: 42, tags: ['a'] },
      apns: { title: 'Orders', action: 'View' },
    }
    const { body, headers } = translateWebPush(message, OPTIONS)
    expect(body).toBe(
      '{"alert":"Your order shipped","title":"Orders","sound":"default","badge":3,' +
        `"user-data":{"orderId":42,"tags":["a"]},"aerogear-push-id":"${PUSH_ID}"}`,
    )
    expect(headers).toEqual({ TTL: '2419200', Urgency: 'normal' })
  })

  it('leaves out what the message does not carry, but never the push id', () => {
    const { body } = translateWebPush({ alert: 'hi' }, OPTIONS)
    expect(JSON.parse(body)).toEqual({ alert: 'hi', 'aerogear-push-id': PUSH_ID })
  })

  it('keeps a TTL of 0 as "0" (case 5) and passes any other TTL through', () => {
    expect(translateWebPush({ alert: 'x' }, { ...OPTIONS, ttl: 0 }).headers.TTL).toBe('0')
    expect(translateWebPush({ alert: 'x' }, { ...OPTIONS, ttl: 3600 }).headers.TTL).toBe('3600')
  })

  it('maps priority high to Urgency high and anything else to normal', () => {
    const urgency = (priority?: 'high' | 'normal') =>
      translateWebPush({ alert: 'x', priority }, OPTIONS).headers.Urgency
    expect(urgency('high')).toBe('high')
    expect(urgency('normal')).toBe('normal')
    expect(urgency(undefined)).toBe('normal')
  })
})

describe('webPushPayloadBytes', () => {
  const base = webPushPayloadBytes({ alert: '' }, OPTIONS)

  it('counts UTF-8 bytes, not characters (case 3)', () => {
    const alert = '\u{1F600}'.repeat(1000)
    expect(alert.length).toBe(2000)
    const bytes = webPushPayloadBytes({ alert }, OPTIONS)
    expect(bytes - base).toBe(4000)
    expect(bytes).toBeGreaterThan(WEB_PUSH_MAX_PLAINTEXT)
  })

  it('lets exactly 3993 bytes through and refuses one more', () => {
    const fits = webPushPayloadBytes({ alert: 'a'.repeat(3993 - base) }, OPTIONS)
    const over = webPushPayloadBytes({ alert: 'a'.repeat(3994 - base) }, OPTIONS)
    expect(fits).toBe(WEB_PUSH_MAX_PLAINTEXT)
    expect(over).toBe(WEB_PUSH_MAX_PLAINTEXT + 1)
  })

  it('uses the same limit as the encryption library', async () => {
    const subscription = { ...(await subscribe()), expirationTime: null }
    const bytes = (n: number) => new Uint8Array(n).fill(0x61)
    await expect(
      encryptNotification(subscription, bytes(WEB_PUSH_MAX_PLAINTEXT), { pad: false }),
    ).resolves.toHaveLength(WEB_PUSH_MAX_PLAINTEXT + 103)
    await expect(
      encryptNotification(subscription, bytes(WEB_PUSH_MAX_PLAINTEXT + 1), { pad: false }),
    ).rejects.toThrow(/maximum is 3993/)
  })
})

describe('vapidAuthorization', () => {
  const now = Date.UTC(2026, 0, 15, 9, 30, 0, 123)

  async function verify(header: string, publicKey: string, at: number) {
    const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header)
    expect(match?.[2]).toBe(publicKey)
    const jwt = match?.[1] ?? ''
    const point = base64url.decode(publicKey)
    const x = base64url.encode(point.subarray(1, 33))
    const y = base64url.encode(point.subarray(33))
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x, y }, 'ES256')
    const { payload } = await jwtVerify(jwt, key, { currentDate: new Date(at) })
    return { jwt, payload }
  }

  it('signs aud = the origin with its port and no path, exp 12 h ahead, sub (case 12)', async () => {
    const creds = await credentials()
    const endpoint = 'https://push.example.net:8443/wpush/v2/abc?x=1#f'
    const header = await vapidAuthorization(creds, endpoint, now)

    const { jwt, payload } = await verify(header, creds.publicKey, now)
    expect(decodeProtectedHeader(jwt)).toEqual({ typ: 'JWT', alg: 'ES256' })
    expect(payload).toEqual({
      aud: 'https://push.example.net:8443',
      exp: Math.floor(now / 1000) + 12 * 60 * 60,
      sub: SUBJECT,
    })
    expect((payload.exp ?? 0) * 1000 - now).toBeLessThanOrEqual(24 * HOUR)
  })

  it('is an ES256 signature WebCrypto verifies with the raw public key', async () => {
    const creds = await credentials()
    const header = await vapidAuthorization(creds, 'https://push.example.net/x', now)
    const [h, p, s] = (/t=([^,]+)/.exec(header)?.[1] ?? '').split('.')
    const key = await crypto.subtle.importKey(
      'raw',
      base64url.decode(creds.publicKey),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    )
    const valid = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      base64url.decode(s ?? ''),
      new TextEncoder().encode(`${h}.${p}`),
    )
    expect(valid).toBe(true)
  })

  it('drops a default port and keeps http: origins for local push services', () => {
    expect(vapidAudience('https://fcm.googleapis.com:443/fcm/send/abc')).toBe(
      'https://fcm.googleapis.com',
    )
    expect(vapidAudience('http://127.0.0.1:8787/push/1')).toBe('http://127.0.0.1:8787')
  })

  it('reuses one header per origin until an hour before exp', async () => {
    const creds = await credentials()
    const first = await vapidAuthorization(creds, 'https://a.example.net/1', now)
    expect(await vapidAuthorization(creds, 'https://a.example.net/2', now + HOUR)).toBe(first)

    const lastReuse = now + VAPID_LIFETIME_MS - HOUR - 1000
    expect(await vapidAuthorization(creds, 'https://a.example.net/3', lastReuse)).toBe(first)

    const renewal = now + VAPID_LIFETIME_MS - HOUR + 1000
    const renewed = await vapidAuthorization(creds, 'https://a.example.net/4', renewal)
    expect(renewed).not.toBe(first)
    const { payload } = await verify(renewed, creds.publicKey, renewal)
    expect(payload.exp).toBe(Math.floor((renewal + VAPID_LIFETIME_MS) / 1000))

    const other = await vapidAuthorization(creds, 'https://b.example.net/1', now)
    expect(decodeJwt(/t=([^,]+)/.exec(other)?.[1] ?? '').aud).toBe('https://b.example.net')
  })

  it('mints one token for concurrent pushes to a cold origin', async () => {
    const creds = await credentials()
    const headers = await Promise.all(
      [1, 2, 3].map((n) => vapidAuthorization(creds, `https://c.example.net/${n}`, now)),
    )
    expect(new Set(headers).size).toBe(1)
  })

  it('does not mix up variants that share an origin', async () => {
    const [a, b] = await Promise.all([credentials(), credentials()])
    const endpoint = 'https://d.example.net/1'
    const headerA = await vapidAuthorization(a, endpoint, now)
    const headerB = await vapidAuthorization(b, endpoint, now)
    await verify(headerA, a.publicKey, now)
    await verify(headerB, b.publicKey, now)
  })
})

describe('classifyWebPush', () => {
  const now = Date.UTC(2026, 0, 15, 9, 30, 0)
  const inThirtySeconds = new Date(now + 30_000).toUTCString()

  it.each([
    [201, {}, { kind: 'delivered' }],
    [200, {}, { kind: 'delivered' }],
    [202, {}, { kind: 'delivered' }],
    [404, {}, { kind: 'invalid_token', reason: 'expired' }],
    [410, {}, { kind: 'invalid_token', reason: 'unsubscribed' }],
    [413, {}, { kind: 'failed', reason: 'payload_too_large' }],
    [429, { 'Retry-After': '7' }, { kind: 'retry', reason: 'throttled', retryAfterMs: 7000 }],
    [429, {}, { kind: 'retry', reason: 'throttled' }],
    [
      503,
      { 'Retry-After': inThirtySeconds },
      { kind: 'retry', reason: 'unavailable', retryAfterMs: 30_000 },
    ],
    [500, { 'Retry-After': 'soon' }, { kind: 'retry', reason: 'unavailable' }],
    [400, {}, { kind: 'failed', reason: 'bad_request' }],
    [401, {}, { kind: 'variant_problem', reason: 'vapid_rejected' }],
    [403, {}, { kind: 'variant_problem', reason: 'vapid_rejected' }],
    [301, {}, { kind: 'failed', reason: 'http_301' }],
    [418, {}, { kind: 'failed', reason: 'http_418' }],
  ] as const)('%i %j → %j', (status, headers, expected) => {
    expect(classifyWebPush(status, new Headers(headers), now)).toEqual(expected)
  })

  it('reads Retry-After as seconds or an HTTP date, never negative', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0)
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0)
    expect(parseRetryAfter('-5', now)).toBeUndefined()
    expect(parseRetryAfter('1.5', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe('the Web Push adapter against a push service', () => {
  it('delivers a body the service decrypts to the exact JSON, unpadded (cases 6, 13)', async () => {
    const creds = await credentials()
    const sender = createWebPushAdapter({ ...creds, allowInsecureEndpoints: true })
    const subscription = await subscribe('ok', { applicationServerKey: creds.publicKey })
    // A 200-byte plaintext.
    const base = webPushPayloadBytes({ alert: '', 'user-data': { k: '' } }, OPTIONS)
    const message: UnifiedMessage = {
      alert: 'Build 1234 passed',
      priority: 'high',
      'user-data': { k: 'v'.repeat(200 - base - 'Build 1234 passed'.length) },
    }
    expect(webPushPayloadBytes(message, OPTIONS)).toBe(200)

    const result = await sender.send(targets([subscription]), message, OPTIONS, context())
    expect(result).toEqual({ outcomes: [{ kind: 'delivered' }] })

    const [delivery, ...more] = await deliveries(subscription.endpoint)
    expect(more).toEqual([])
    expect(delivery?.status).toBe(201)
    expect(delivery?.problem).toBeUndefined()
    expect(delivery?.payload).toEqual({
      alert: 'Build 1234 passed',
      'user-data': message['user-data'],
      'aerogear-push-id': PUSH_ID,
    })
    // RFC 8188 header (86) + plaintext + delimiter (1) + GCM tag (16); padded it would be 4096.
    expect(delivery?.bodyBytes).toBe(200 + 103)

    const headers = delivery?.headers ?? {}
    expect(headers['content-encoding']).toBe('aes128gcm')
    expect(headers['content-type']).toBe('application/octet-stream')
    expect(headers.ttl).toBe('2419200')
    expect(headers.urgency).toBe('high')
    expect(headers.topic).toBeUndefined()
    expect(headers['crypto-key']).toBeUndefined()
    expect(headers.encryption).toBeUndefined()
    expect(headers.authorization).toMatch(
      new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${creds.publicKey}$`),
    )
    expect(delivery?.claims).toMatchObject({ aud: FAKE, sub: SUBJECT })
  })

  it('sends TTL 0 as 0 (case 5)', async () => {
    const subscription = await subscribe()
    const sender = await adapter()
    const options = { ...OPTIONS, ttl: 0 }
    const result = await sender.send(targets([subscription]), { alert: 'now' }, options, context())
    expect(result.outcomes).toEqual([{ kind: 'delivered' }])
    const [delivery] = await deliveries(subscription.endpoint)
    expect(delivery?.headers.ttl).toBe('0')
  })

  it('answers one outcome per target, in order, whatever order the answers come in', async () => {
    const plan: [Behaviour, number][] = [
      ['ok', 80],
      ['gone', 60],
      ['notfound', 40],
      ['toolarge', 20],
      ['throttle', 0],
      ['ok', 0],
      ['gone', 10],
    ]
    const subscriptions = await Promise.all(plan.map(([b, delayMs]) => subscribe(b, { delayMs })))
    const sender = await adapter()
    const result = await sender.send(targets(subscriptions), { alert: 'x' }, OPTIONS, context())

    expect(result).toEqual({
      outcomes: [
        { kind: 'delivered' },
        { kind: 'invalid_token', reason: 'unsubscribed' },
        { kind: 'invalid_token', reason: 'expired' },
        { kind: 'failed', reason: 'payload_too_large' },
        { kind: 'retry', reason: 'throttled', retryAfterMs: 7000 },
        { kind: 'delivered' },
        { kind: 'invalid_token', reason: 'unsubscribed' },
      ],
    })
    // Each answer came from the behaviour, not from a request the service found malformed.
    for (const subscription of subscriptions) {
      const seen = await deliveries(subscription.endpoint)
      expect(seen.map((d) => d.problem)).toEqual([undefined])
    }
  })

  it('fails a 413 as payload_too_large and keeps the subscription (case 9)', async () => {
    const subscription = await subscribe('toolarge')
    const sender = await adapter()
    const result = await sender.send(targets([subscription]), { alert: 'x' }, OPTIONS, context())
    expect(result).toEqual({ outcomes: [{ kind: 'failed', reason: 'payload_too_large' }] })
    expect((await deliveries(subscription.endpoint)).map((d) => d.status)).toEqual([413])
  })

  it('retries a service that is down until it answers', async () => {
    const subscription = await subscribe('flaky', { failures: 2 })
    const sender = await adapter()
    const send = () => sender.send(targets([subscription]), { alert: 'x' }, OPTIONS, context())

    expect((await send()).outcomes).toEqual([{ kind: 'retry', reason: 'unavailable' }])
    expect((await send()).outcomes).toEqual([{ kind: 'retry', reason: 'unavailable' }])
    expect((await send()).outcomes).toEqual([{ kind: 'delivered' }])
    const seen = await deliveries(subscription.endpoint)
    expect(seen.map((d) => d.status)).toEqual([503, 503, 201])
  })

  it('reports a key mismatch as a variant problem and prunes nothing (case 10)', async () => {
    const subscriptions = [await subscribe('ok'), await subscribe('mismatch'), await subscribe()]
    const sender = await adapter()
    const result = await sender.send(targets(subscriptions), { alert: 'x' }, OPTIONS, context())

    expect(result.variantProblem).toEqual({ reason: 'vapid_rejected' })
    expect(result.outcomes[1]).toEqual({ kind: 'failed', reason: 'vapid_rejected' })
    expect(result.outcomes.some((o) => o.kind === 'invalid_token')).toBe(false)
    const [refused] = await deliveries(subscriptions[1]?.endpoint ?? '')
    expect(refused?.status).toBe(403)
  })

  it('fails only the subscriptions bound to another key, and still sends to the rest', async () => {
    // Subscriptions made with the variant's previous key, as after `PUT .../renew`, mixed with
    // subscriptions made with the current one.
    const previous = await generateVapidKeys()
    const stale = await Promise.all(
      Array.from({ length: 4 }, () =>
        subscribe('ok', { applicationServerKey: previous.publicKey }),
      ),
    )
    const current = await Promise.all(Array.from({ length: 5 }, () => subscribe('ok')))
    const mixed = [stale[0], current[0], stale[1], current[1], current[2], stale[2], stale[3]]
    const all = [...mixed, current[3], current[4]].filter((s) => s !== undefined)
    const sender = await adapter()
    const result = await sender.send(targets(all), { alert: 'x' }, OPTIONS, context())

    expect(result.variantProblem).toEqual({ reason: 'vapid_rejected' })
    const staleSet = new Set(stale.map((s) => s.endpoint))
    expect(result.outcomes).toEqual(
      all.map(
        (s): Outcome =>
          staleSet.has(s.endpoint)
            ? { kind: 'failed', reason: 'vapid_rejected' }
            : { kind: 'delivered' },
      ),
    )
    const seen = await Promise.all(all.map((s) => deliveries(s.endpoint)))
    expect(seen.map((d) => d.map((x) => x.status))).toEqual(
      all.map((s) => [staleSet.has(s.endpoint) ? 403 : 201]),
    )
  })

  it('keeps at most 6 requests in flight, and does run them in parallel', async () => {
    const subscriptions = await Promise.all(
      Array.from({ length: 14 }, () => subscribe('ok', { delayMs: 40 })),
    )
    const sender = await adapter()
    const result = await sender.send(targets(subscriptions), { alert: 'x' }, OPTIONS, context())
    expect(result.outcomes.every((o) => o.kind === 'delivered')).toBe(true)
    const seen = (await Promise.all(subscriptions.map((s) => deliveries(s.endpoint)))).flat()
    expect(seen).toHaveLength(14)
    expect(Math.max(...seen.map((d) => d.inFlight))).toBe(6)
  })

  it('fails a stored token that is not a usable subscription, without a request', async () => {
    const good = await subscribe()
    const offCurve = await subscribe()
    const point = base64url.decode(offCurve.keys.p256dh)
    point[64] = (point[64] ?? 0) ^ 1
    const broken = { ...offCurve, keys: { ...offCurve.keys, p256dh: base64url.encode(point) } }
    const tokens = [
      'not json',
      JSON.stringify({ endpoint: good.endpoint }),
      JSON.stringify(broken),
      JSON.stringify({ ...good, keys: { ...good.keys, auth: 'c2hvcnQ' } }),
      JSON.stringify(good),
    ]
    const sender = await adapter()
    const result = await sender.send(tokens.map(target), { alert: 'x' }, OPTIONS, context())

    const bad: Outcome = { kind: 'failed', reason: 'bad_subscription' }
    expect(result).toEqual({ outcomes: [bad, bad, bad, bad, { kind: 'delivered' }] })
    expect(await deliveries(offCurve.endpoint)).toEqual([])
    expect((await deliveries(good.endpoint)).map((d) => d.status)).toEqual([201])
  })

  it('refuses http: endpoints unless insecure endpoints are allowed', async () => {
    const subscription = await subscribe()
    const sender = createWebPushAdapter(await credentials())
    const result = await sender.send(targets([subscription]), { alert: 'x' }, OPTIONS, context())
    expect(result.outcomes).toEqual([{ kind: 'failed', reason: 'endpoint_refused' }])
    expect(await deliveries(subscription.endpoint)).toEqual([])
  })

  it('fails every stored endpoint of finding S2 without a request, keeping the row', async () => {
    const { keys } = await subscribe()
    const stored = REFUSED_ENDPOINTS.map(([, endpoint]) => ({ endpoint, keys }))
    const requested: string[] = []
    const recording: typeof fetch = async (input) => {
      requested.push(String(input))
      return new Response(null, { status: 201 })
    }
    const sender = createWebPushAdapter({ ...(await credentials()), allowInsecureEndpoints: false })

    const result = await sender.send(
      targets(stored),
      { alert: 'x' },
      OPTIONS,
      context(Date.now, recording),
    )

    // `failed`, not `invalid_token`: the row stays for when the configuration allows it again.
    const refused: Outcome = { kind: 'failed', reason: 'endpoint_refused' }
    expect(result).toEqual({ outcomes: stored.map(() => refused) })
    expect(requested).toEqual([])
  })

  it("posts to the push services' endpoints with insecure endpoints refused", async () => {
    const { keys } = await subscribe()
    const spelled = 'https://fcm.googleapis.com:443/fcm/send/abc'
    const stored = [...PUSH_SERVICE_ENDPOINTS, spelled].map((endpoint) => ({ endpoint, keys }))
    const requested: string[] = []
    const recording: typeof fetch = async (input, init) => {
      requested.push(String(input))
      expect(new Headers(init?.headers).get('Content-Encoding')).toBe('aes128gcm')
      return new Response(null, { status: 201 })
    }
    const sender = createWebPushAdapter(await credentials())

    const result = await sender.send(
      targets(stored),
      { alert: 'x' },
      OPTIONS,
      context(Date.now, recording),
    )

    expect(result.outcomes).toEqual(stored.map(() => ({ kind: 'delivered' })))
    const expected = [...PUSH_SERVICE_ENDPOINTS, 'https://fcm.googleapis.com/fcm/send/abc']
    expect(requested.sort()).toEqual(expected.sort())
  })

  it('refuses an oversized message for every target without sending (case 3)', async () => {
    const subscription = await subscribe()
    const sender = await adapter()
    const message = { alert: '\u{1F600}'.repeat(1000) }
    const result = await sender.send(targets([subscription]), message, OPTIONS, context())
    expect(result.outcomes).toEqual([{ kind: 'failed', reason: 'payload_too_large' }])
    expect(await deliveries(subscription.endpoint)).toEqual([])
  })

  it('retries when the service cannot be reached or does not answer in time', async () => {
    const unreachable = { ...(await subscribe()), endpoint: 'http://127.0.0.1:9/push/none' }
    const sender = await adapter()
    const result = await sender.send(targets([unreachable]), { alert: 'x' }, OPTIONS, context())
    expect(result.outcomes).toEqual([{ kind: 'retry', reason: 'network_error' }])

    const signals: (AbortSignal | null | undefined)[] = []
    const timingOut: typeof fetch = async (_input, init) => {
      signals.push(init?.signal)
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    }
    const subscription = await subscribe()
    const late = await sender.send(
      targets([subscription]),
      { alert: 'x' },
      OPTIONS,
      context(Date.now, timingOut),
    )
    expect(late.outcomes).toEqual([{ kind: 'retry', reason: 'timeout' }])
    expect(signals[0]).toBeInstanceOf(AbortSignal)
  })

  it('reports a key pair that cannot sign as a variant problem', async () => {
    const subscription = await subscribe()
    const creds = await credentials()
    const sender = createWebPushAdapter({
      ...creds,
      privateKey: base64url.encode(new Uint8Array(32)),
      allowInsecureEndpoints: true,
    })
    const result = await sender.send(targets([subscription]), { alert: 'x' }, OPTIONS, context())
    expect(result).toEqual({
      outcomes: [{ kind: 'failed', reason: 'vapid_key_unusable' }],
      variantProblem: { reason: 'vapid_key_unusable' },
    })
    expect(await deliveries(subscription.endpoint)).toEqual([])
  })

  it('reuses one VAPID token across batches to one origin, and renews it in time', async () => {
    const sender = await adapter()
    const [a, b, c] = [await subscribe(), await subscribe(), await subscribe()]
    const start = Date.now()
    await sender.send(
      targets([a]),
      { alert: '1' },
      OPTIONS,
      context(() => start),
    )
    await sender.send(
      targets([b]),
      { alert: '2' },
      OPTIONS,
      context(() => start + HOUR),
    )
    const later = start + VAPID_LIFETIME_MS - HOUR + 60_000
    await sender.send(
      targets([c]),
      { alert: '3' },
      OPTIONS,
      context(() => later),
    )

    const auth = async (s: Subscription) => {
      const [delivery] = await deliveries(s.endpoint)
      expect(delivery?.status).toBe(201)
      return delivery?.headers.authorization
    }
    const [first, second, third] = [await auth(a), await auth(b), await auth(c)]
    expect(second).toBe(first)
    expect(third).not.toBe(first)
  })
})
