/// <reference types="node" />
/**
 * A push service (RFC 8030) in Node for the Web Push adapter's tests. It hands out real
 * subscriptions, checks every push the way a strict push service does, decrypts the body with
 * `http_ece` (an implementation independent of the one the Worker uses) and records what it saw.
 *
 * Checks on every push, each answered like the real services answer it:
 * - exactly one `Authorization: vapid t=<jwt>, k=<key>`, the JWT an ES256 signature by `k`, `aud`
 *   this service's origin exactly, `exp` in the future and at most 24 h ahead, `sub` present
 *   (RFC 8292): 401, or 403 when the subscription was made with another applicationServerKey;
 * - `Content-Encoding: aes128gcm`, no `Crypto-Key` or `Encryption` header, a numeric `TTL`, a
 *   valid `Urgency` and `Topic` when present, a body that decrypts: 400;
 * - a body of at most 4096 bytes: 413.
 * Then the subscription's behaviour picks the answer. Requests that match no route or no
 * subscription get 404 and are kept in `/_unexpected`, so a test can assert there were none.
 *
 * Control API, on the same origin:
 * - `POST /_subscribe {behaviour?, failures?, delayMs?, applicationServerKey?}` → 201 `{endpoint, keys:
 *   {p256dh, auth}}`. behaviour: ok (default), gone (410), notfound (404), toolarge (413),
 *   throttle (429, Retry-After: 7), flaky (503 for the first `failures` pushes, default 2, then
 *   201), mismatch (made with a key only the fake knows, so every push gets 403). With an
 *   applicationServerKey, pushes signed with any other key get 403, as in RFC 8292 section 4.
 * - `GET /_deliveries?endpoint=<url>` → every push to that endpoint, in order (Delivery below).
 * - `GET /_unexpected` → `[{method, url}]`; `POST /_reset` forgets everything.
 */
import { createECDH, type ECDH, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import ece from 'http_ece'
import { base64url, decodeJwt, importJWK, jwtVerify } from 'jose'
import { z } from 'zod'

export const BEHAVIOURS = [
  'ok',
  'gone',
  'notfound',
  'toolarge',
  'throttle',
  'flaky',
  'mismatch',
] as const
export type Behaviour = (typeof BEHAVIOURS)[number]

const SubscribeRequest = z.strictObject({
  behaviour: z.enum(BEHAVIOURS).default('ok'),
  failures: z.number().int().min(0).optional(),
  delayMs: z.number().int().min(0).max(5000).optional(),
  applicationServerKey: z.string().optional(),
})

/** One push as the fake saw it. `payload` is the decrypted JSON (or text) when it decrypted. */
export type Delivery = {
  endpoint: string
  status: number
  /** Why the fake refused the request itself, before the subscription's behaviour. */
  problem?: string
  /** Request headers, names lower-case; a repeated header keeps every value joined by ", ". */
  headers: Record<string, string>
  bodyBytes: number
  /** Pushes being handled when this one arrived, itself included: the sender's concurrency. */
  inFlight: number
  payload?: unknown
  /** The VAPID JWT's claims when the token verified. */
  claims?: Record<string, unknown>
}

export type FakePushService = { url: string; close(): Promise<void> }

type Subscription = {
  endpoint: string
  ecdh: ECDH
  auth: Buffer
  behaviour: Behaviour
  failuresLeft: number
  /** How long the fake takes to answer, so that a test can see requests overlap. */
  delayMs: number
  /** The raw point the subscription was restricted to (RFC 8292 section 4), if any. */
  applicationServerKey?: Buffer
}

type State = {
  subscriptions: Map<string, Subscription>
  deliveries: Delivery[]
  unexpected: { method: string; url: string }[]
  inFlight: number
}

// RFC 8030 section 7.2 lets a push service limit the body; 4096 is what all must accept.
const MAX_BODY = 4096
const DAY_S = 24 * 60 * 60
const URGENCIES = ['very-low', 'low', 'normal', 'high']

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startFakePushService(): Promise<FakePushService> {
  const state: State = { subscriptions: new Map(), deliveries: [], unexpected: [], inFlight: 0 }
  let origin = ''
  const server = createServer((req, res) => {
    handle(state, origin, req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error))
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  origin = `http://127.0.0.1:${port}`
  return {
    url: origin,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

async function handle(state: State, origin: string, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', origin)
  const body = await readBody(req)

  if (req.method === 'POST' && url.pathname === '/_subscribe') {
    return json(res, 201, subscribe(state, origin, body))
  }
  if (req.method === 'GET' && url.pathname === '/_deliveries') {
    const endpoint = url.searchParams.get('endpoint')
    return json(
      res,
      200,
      state.deliveries.filter((d) => endpoint === null || d.endpoint === endpoint),
    )
  }
  if (req.method === 'GET' && url.pathname === '/_unexpected') {
    return json(res, 200, state.unexpected)
  }
  if (req.method === 'POST' && url.pathname === '/_reset') {
    state.subscriptions.clear()
    state.deliveries.length = 0
    state.unexpected.length = 0
    return res.writeHead(204).end()
  }

  const subscription = req.method === 'POST' ? state.subscriptions.get(url.pathname) : undefined
  if (!subscription) {
    state.unexpected.push({ method: req.method ?? '', url: url.pathname })
    return res.writeHead(404).end()
  }
  return push(state, origin, subscription, req, body, res)
}

function subscribe(state: State, origin: string, body: Buffer) {
  // A malformed request is a bug in the test: it throws, and the caller sees a 500.
  const input = SubscribeRequest.parse(JSON.parse(body.toString('utf8') || '{}'))
  const behaviour = input.behaviour

  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  const auth = randomBytes(16)
  const path = `/push/${randomUUID()}`
  // A key mismatch made for real: the subscription belongs to a key the sender does not have.
  const restriction =
    behaviour === 'mismatch'
      ? createECDH('prime256v1').generateKeys()
      : input.applicationServerKey
        ? Buffer.from(input.applicationServerKey, 'base64url')
        : undefined

  const endpoint = `${origin}${path}`
  state.subscriptions.set(path, {
    endpoint,
    ecdh,
    auth,
    behaviour,
    failuresLeft: input.failures ?? 2,
    delayMs: input.delayMs ?? 0,
    applicationServerKey: restriction,
  })
  return {
    endpoint,
    keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') },
  }
}

async function push(
  state: State,
  origin: string,
  subscription: Subscription,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
) {
  state.inFlight += 1
  try {
    const delivery: Delivery = {
      endpoint: subscription.endpoint,
      status: 0,
      headers: headerRecord(req),
      bodyBytes: body.byteLength,
      inFlight: state.inFlight,
    }
    state.deliveries.push(delivery)
    await new Promise((resolve) => setTimeout(resolve, subscription.delayMs))
    await answer(origin, subscription, req, body, delivery, res)
  } finally {
    state.inFlight -= 1
  }
}

async function answer(
  origin: string,
  subscription: Subscription,
  req: IncomingMessage,
  body: Buffer,
  delivery: Delivery,
  res: ServerResponse,
) {
  const refusal = await check(origin, subscription, req, body, delivery)
  if (refusal) {
    delivery.status = refusal.status
    delivery.problem = refusal.problem
    return json(res, refusal.status, { reason: refusal.problem })
  }

  const { status, headers } = behave(subscription)
  delivery.status = status
  res.writeHead(status, headers).end()
}

type Refusal = { status: number; problem: string }

/** Everything a strict push service checks; the first failure is the answer. */
async function check(
  origin: string,
  subscription: Subscription,
  req: IncomingMessage,
  body: Buffer,
  delivery: Delivery,
): Promise<Refusal | undefined> {
  const vapid = await checkVapid(origin, subscription, req)
  if ('status' in vapid) return vapid
  delivery.claims = vapid.claims

  // A repeated header is joined and then fails its check, as it should.
  const header = (name: string) => req.headersDistinct[name]?.join(', ')
  if (header('crypto-key') !== undefined || header('encryption') !== undefined) {
    return { status: 400, problem: 'Crypto-Key and Encryption belong to aesgcm, not aes128gcm' }
  }
  if (header('content-encoding') !== 'aes128gcm') {
    return { status: 400, problem: 'Content-Encoding must be aes128gcm' }
  }
  if (!/^\d+$/.test(header('ttl') ?? ''))
    return { status: 400, problem: 'TTL is missing or not a number' }
  const urgency = header('urgency')
  if (urgency !== undefined && !URGENCIES.includes(urgency)) {
    return { status: 400, problem: 'Urgency is not one of RFC 8030 section 5.3' }
  }
  const topic = header('topic')
  if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
    return { status: 400, problem: 'Topic must be at most 32 base64url characters' }
  }
  if (body.byteLength > MAX_BODY) return { status: 413, problem: 'body over 4096 bytes' }

  try {
    const plaintext = ece.decrypt(body, {
      version: 'aes128gcm',
      privateKey: subscription.ecdh,
      authSecret: subscription.auth,
    })
    delivery.payload = parseJson(plaintext.toString('utf8'))
  } catch {
    return { status: 400, problem: 'the body does not decrypt' }
  }
  return undefined
}

async function checkVapid(
  origin: string,
  subscription: Subscription,
  req: IncomingMessage,
): Promise<Refusal | { claims: Record<string, unknown> }> {
  const values = req.headersDistinct.authorization ?? []
  const match =
    values.length === 1 ? /^vapid t=([^,\s]+), ?k=([\w-]+)$/.exec(values[0] ?? '') : null
  if (!match) return { status: 401, problem: 'exactly one Authorization: vapid t=..., k=...' }
  const [, jwt = '', k = ''] = match

  const point = Buffer.from(k, 'base64url')
  if (point.byteLength !== 65 || point[0] !== 0x04) {
    return { status: 401, problem: 'k is not an uncompressed P-256 point' }
  }
  const restriction = subscription.applicationServerKey
  if (restriction && !restriction.equals(point)) {
    return { status: 403, problem: 'the subscription was made with another applicationServerKey' }
  }

  try {
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: base64url.encode(point.subarray(1, 33)),
        y: base64url.encode(point.subarray(33)),
      },
      'ES256',
    )
    const { payload } = await jwtVerify(jwt, key, {
      algorithms: ['ES256'],
      audience: origin,
      requiredClaims: ['aud', 'exp', 'sub'],
    })
    const now = Math.floor(Date.now() / 1000)
    if ((payload.exp ?? 0) > now + DAY_S) return { status: 401, problem: 'exp is over 24 h ahead' }
    if (typeof payload.aud !== 'string') return { status: 401, problem: 'aud is not one origin' }
    if (!/^(mailto|https):/.test(String(payload.sub))) {
      return { status: 401, problem: 'sub is neither mailto: nor https:' }
    }
    return { claims: { ...payload } }
  } catch (error) {
    const claims = safeClaims(jwt)
    return { status: 401, problem: `the VAPID token does not verify: ${String(error)} ${claims}` }
  }
}

function behave(subscription: Subscription): { status: number; headers?: Record<string, string> } {
  switch (subscription.behaviour) {
    case 'ok':
    case 'mismatch':
      return created()
    case 'gone':
      return { status: 410 }
    case 'notfound':
      return { status: 404 }
    case 'toolarge':
      return { status: 413 }
    case 'throttle':
      return { status: 429, headers: { 'Retry-After': '7' } }
    case 'flaky':
      if (subscription.failuresLeft <= 0) return created()
      subscription.failuresLeft -= 1
      return { status: 503 }
  }
}

// RFC 8030 section 5: 201 with the push message resource in Location.
function created() {
  return { status: 201, headers: { Location: `/message/${randomUUID()}` } }
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const record: Record<string, string> = {}
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values) record[name] = values.join(', ')
  }
  return record
}

function safeClaims(jwt: string): string {
  try {
    return JSON.stringify(decodeJwt(jwt))
  } catch {
    return '(not a JWT)'
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, value: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value))
}
