/**
 * A fake of Apple's push service, run in Node by the test setup (test/fakes/apns-setup.ts), on
 * 127.0.0.1 twice over with one handler and one state:
 *
 * - HTTP/1.1, for the `fetch` transport (workerd's fetch speaks HTTP/1.1 to `http://`);
 * - HTTP/2 with prior knowledge (h2c), for the `h2` transport. Like Apple, it allows one stream
 *   until a request with a valid provider token has been seen on the connection, then 1000.
 *
 * `POST /3/device/<token>` is checked the way APNs checks it, each failure answered with Apple's
 * status and `{"reason": ...}`: the bearer JWT is verified with node:crypto (not jose, which signs
 * it in the Worker) against the key registered for its `iss` and `kid`, ES256 signature, `iat`
 * neither in the future nor older than the team's maximum age; a provider token that replaces the
 * team's current one less than 20 minutes after it is refused with TooManyProviderTokenUpdates;
 * `apns-topic` must be the team's bundle id, `apns-push-type`, `apns-priority`,
 * `apns-expiration` and `apns-id` well formed and consistent with the payload, the payload JSON
 * with an `aps` object and at most 4096 bytes, the token hex. Then the device's behaviour answers.
 *
 * Stricter than Apple on purpose: a missing `apns-push-type` is refused (Apple only refuses it
 * for watchOS), and a body that is not a JSON object with `aps` (whose answer Apple does not
 * document) is also recorded as unexpected.
 *
 * State is keyed by team id, so that test files running at the same time do not see each other.
 * Control API (JSON bodies; served on both ports):
 *   POST /_teams {teamId, keyId, publicKey (SPKI PEM), bundleId, maxTokenAgeS?, minTokenIntervalS?}
 *   POST /_devices {token, behaviour, timestamp?, retryAfter?} (or an array of them)
 *   POST /_clock {teamId, now}        pins the team's clock (ms; null: real time)
 *   POST /_expire {teamId}            every provider token seen so far gets ExpiredProviderToken
 *   GET  /_notifications?teamId=T     accepted notifications, oldest first
 *   GET  /_stats?teamId=T             {providerTokens, requests, maxInFlight, answers}
 *   GET  /_unexpected                 requests outside APNs' API (each answered 404 BadPath)
 *   POST /_h2 {maxConcurrentStreams?, raiseTo?, goawayAfter?, goawayReason?}
 *                                     a new HTTP/2 server with these options: {id, url}
 *   GET  /_h2/<id>                    {sessions, streams, maxInFlight, goaways, resets}
 *   POST /_reset                      forgets everything
 *
 * Device behaviours (any unregistered token is `ok`): `ok`, `unregistered` (410 Unregistered
 * with `timestamp`, default now), `expired` (410 ExpiredToken), `bad` (400 BadDeviceToken),
 * `notfortopic` (400 DeviceTokenNotForTopic), `throttle` (429 TooManyRequests, with
 * `Retry-After: <retryAfter>` when given), `unavailable` (503 ServiceUnavailable), `shutdown`
 * (503 Shutdown), `internal` (500 InternalServerError), `flaky<N>` (503 for the first N
 * attempts), `slow` (ok after 250 ms), `stall` (never answers), `reset` (HTTP/2: RST_STREAM
 * INTERNAL_ERROR; HTTP/1.1: the connection is destroyed).
 */
import { createPublicKey, type KeyObject, randomUUID, verify as verifySignature } from 'node:crypto'
import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  constants as h2,
} from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'

const MAX_PAYLOAD = 4096
/** Apple: a token more than an hour old is expired. */
const MAX_TOKEN_AGE_S = 3600
/** Apple: renewing the provider token more often than every 20 minutes is refused. */
const MIN_TOKEN_INTERVAL_S = 1200
/** Apple's connections allow one stream until a valid token was seen, then many. */
const INITIAL_STREAMS = 1
const RAISED_STREAMS = 1000
const SLOW_MS = 250
const PUSH_TYPES = [
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
  'widgets',
  'controls',
]
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export type Behaviour =
  | 'ok'
  | 'unregistered'
  | 'expired'
  | 'bad'
  | 'notfortopic'
  | 'throttle'
  | 'unavailable'
  | 'shutdown'
  | 'internal'
  | 'slow'
  | 'stall'
  | 'reset'
  | `flaky${number}`

export type RecordedNotification = {
  teamId: string
  token: string
  protocol: 'http/1.1' | 'h2'
  /** Every `apns-*` header and `authorization`, names lower case. */
  headers: Record<string, string>
  payload: Record<string, unknown>
  receivedAt: number
}

export type H2Options = {
  /** MAX_CONCURRENT_STREAMS of a new connection; 1 like Apple. */
  maxConcurrentStreams?: number
  /** MAX_CONCURRENT_STREAMS once a valid provider token was seen on it; 1000. */
  raiseTo?: number
  /**
   * Sends GOAWAY and closes the connection once this many streams were answered on it, the last
   * of them as the last stream id. Streams above it still waiting (`slow`) are refused: neither
   * answered nor recorded.
   */
  goawayAfter?: number
  /** The reason in the GOAWAY's debug data, as Apple sends it: `{"reason": ...}`. */
  goawayReason?: string
}

type Team = {
  teamId: string
  keyId: string
  publicKey: KeyObject
  bundleId: string
  maxTokenAgeS: number
  minTokenIntervalS: number
  clock?: number
  /** Provider tokens accepted, with when (fake clock) each became the current one. */
  tokens: Map<string, { since: number; expired: boolean }>
  current?: string
  requests: number
  inFlight: number
  maxInFlight: number
  answers: Record<string, number>
}

type Device = { behaviour: Behaviour; timestamp?: number; retryAfter?: string; attempts: number }

type H2Stats = {
  sessions: number
  streams: number
  maxInFlight: number
  goaways: number
  resets: number
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> }

type Request = IncomingMessage | Http2ServerRequest
type Response = ServerResponse | Http2ServerResponse

export type FakeApns = { url: string; h2Url: string; close: () => Promise<void> }

class FakeState {
  base = ''
  teams = new Map<string, Team>()
  devices = new Map<string, Device>()
  notifications: RecordedNotification[] = []
  unexpected: { method: string; path: string; why: string }[] = []
  h2Servers = new Map<string, H2Fake>()

  now(team: Team | undefined): number {
    return team?.clock ?? Date.now()
  }
}

export async function startFakeApns(): Promise<FakeApns> {
  const state = new FakeState()
  const sockets = new Set<Socket>()
  const http1 = createHttp1Server((req, res) => {
    handle(state, req, res, 'http/1.1').catch((error: unknown) => {
      reply(res, { status: 500, body: { fake_error: String(error) } })
    })
  })
  http1.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve))
  state.base = `http://127.0.0.1:${(http1.address() as AddressInfo).port}`

  const main = await startH2(state, {})
  return {
    url: state.base,
    h2Url: main.url,
    close: async () => {
      for (const server of state.h2Servers.values()) await server.close()
      await main.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => http1.close(() => resolve()))
    },
  }
}

// --- HTTP/2 ---------------------------------------------------------------------------------

type H2Fake = { url: string; stats: H2Stats; close: () => Promise<void> }

async function startH2(state: FakeState, options: H2Options): Promise<H2Fake> {
  const initial = options.maxConcurrentStreams ?? INITIAL_STREAMS
  const raiseTo = options.raiseTo ?? RAISED_STREAMS
  const stats: H2Stats = { sessions: 0, streams: 0, maxInFlight: 0, goaways: 0, resets: 0 }
  const sessions = new Set<Http2Session>()
  const perSession = new WeakMap<
    Http2Session,
    { raised: boolean; answered: number; inFlight: number }
  >()

  const server: Http2Server = createHttp2Server({ settings: { maxConcurrentStreams: initial } })
  server.on('session', (session: Http2Session) => {
    stats.sessions++
    sessions.add(session)
    perSession.set(session, { raised: false, answered: 0, inFlight: 0 })
    session.on('close', () => sessions.delete(session))
    session.on('error', () => undefined)
  })
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const session = req.stream.session
    const mine = session && perSession.get(session)
    stats.streams++
    if (mine) {
      mine.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, mine.inFlight)
    }
    req.stream.on('close', () => {
      if (!mine || !session) return
      mine.inFlight--
      if (req.stream.rstCode !== h2.NGHTTP2_NO_ERROR) stats.resets++
    })
    const hooks: H2Hooks = {
      tokenAccepted: () => {
        if (!mine || mine.raised || !session || session.destroyed) return
        mine.raised = true
        session.settings({ maxConcurrentStreams: raiseTo })
      },
      answered: () => {
        if (!mine || !session) return
        mine.answered++
        if (options.goawayAfter === undefined || mine.answered !== options.goawayAfter) return
        stats.goaways++
        const reason = Buffer.from(JSON.stringify({ reason: options.goawayReason ?? 'Shutdown' }))
        setImmediate(() => {
          if (session.destroyed) return
          session.goaway(h2.NGHTTP2_NO_ERROR, req.stream.id ?? 0, reason)
          session.close()
        })
      },
    }
    handle(state, req, res, 'h2', hooks).catch((error: unknown) => {
      reply(res, { status: 500, body: { fake_error: String(error) } })
    })
  })
  server.on('sessionError', () => undefined)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    stats,
    close: async () => {
      for (const session of sessions) session.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type H2Hooks = { tokenAccepted: () => void; answered: () => void }

// --- POST /3/device/<token> -----------------------------------------------------------------

async function handle(
  state: FakeState,
  req: Request,
  res: Response,
  protocol: RecordedNotification['protocol'],
  hooks?: H2Hooks,
) {
  const url = new URL(req.url ?? '/', state.base)
  const text = await readBody(req)

  if (url.pathname.startsWith('/_')) {
    const answer = await control(state, req.method ?? '', url, text)
    if (answer) return reply(res, answer)
  }
  const device = /^\/3\/device\/([^/]*)$/.exec(url.pathname)
  if (!device) {
    state.unexpected.push({ method: req.method ?? '', path: url.pathname, why: 'no route' })
    return reply(res, apnsError(404, 'BadPath'))
  }
  if (req.method !== 'POST') return reply(res, apnsError(405, 'MethodNotAllowed'))

  // Counted under the team the token names, verified or not: tests see refused requests too.
  const team = claimedTeam(state, req.headers.authorization)
  if (team) {
    team.requests++
    team.inFlight++
    team.maxInFlight = Math.max(team.maxInFlight, team.inFlight)
  }
  let answer: Answer | 'reset' | 'stall'
  try {
    const auth = authenticate(state, req.headers.authorization)
    if (auth.ok) hooks?.tokenAccepted()
    answer = auth.ok
      ? await deliver(state, auth.team, device[1] ?? '', req, text, protocol, res)
      : auth.answer
  } finally {
    if (team) team.inFlight--
  }
  if (answer === 'stall') return
  if (answer === 'reset') return resetRequest(req)
  if (team) {
    const reason = (answer.body as { reason?: string } | undefined)?.reason ?? `${answer.status}`
    team.answers[reason] = (team.answers[reason] ?? 0) + 1
  }
  reply(res, answer)
  hooks?.answered()
}

function claimedTeam(state: FakeState, authorization: string | undefined): Team | undefined {
  const bearer = /^bearer (.+)$/i.exec(authorization ?? '')?.[1]
  const iss = bearer ? decodeJwt(bearer)?.claims.iss : undefined
  return typeof iss === 'string' ? state.teams.get(iss) : undefined
}

type Auth = { ok: true; team: Team } | { ok: false; answer: Answer }

function authenticate(state: FakeState, authorization: string | undefined): Auth {
  const refuse = (status: number, reason: string): Auth => ({
    ok: false,
    answer: apnsError(status, reason),
  })
  if (!authorization) return refuse(403, 'MissingProviderToken')
  const bearer = /^bearer (.+)$/i.exec(authorization)?.[1]
  const jwt = bearer ? decodeJwt(bearer) : undefined
  if (!bearer || !jwt) return refuse(403, 'InvalidProviderToken')

  const { header, claims } = jwt
  const team = typeof claims.iss === 'string' ? state.teams.get(claims.iss) : undefined
  if (!team || header.alg !== 'ES256' || header.kid !== team.keyId) {
    return refuse(403, 'InvalidProviderToken')
  }
  const signed = verifySignature(
    'sha256',
    Buffer.from(jwt.signedPart),
    { key: team.publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(jwt.signature, 'base64url'),
  )
  if (!signed) return refuse(403, 'InvalidProviderToken')

  const now = state.now(team)
  const iat = claims.iat
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat * 1000 > now) {
    return refuse(403, 'InvalidProviderToken')
  }
  const known = team.tokens.get(bearer)
  if (known?.expired || now - iat * 1000 > team.maxTokenAgeS * 1000) {
    return refuse(403, 'ExpiredProviderToken')
  }
  if (known) return { ok: true, team }

  // A new token: allowed once the current one is 20 minutes old, or expired.
  const current = team.current ? team.tokens.get(team.current) : undefined
  if (current && !current.expired && now - current.since < team.minTokenIntervalS * 1000) {
    return refuse(429, 'TooManyProviderTokenUpdates')
  }
  team.tokens.set(bearer, { since: now, expired: false })
  team.current = bearer
  return { ok: true, team }
}

async function deliver(
  state: FakeState,
  team: Team,
  token: string,
  req: Request,
  text: string,
  protocol: RecordedNotification['protocol'],
  res: Response,
): Promise<Answer | 'reset' | 'stall'> {
  const header = (name: string) => {
    const value = req.headers[name]
    return Array.isArray(value) ? value.join(',') : value
  }
  const topic = header('apns-topic')
  if (!topic) return apnsError(400, 'MissingTopic')
  if (!/^[A-Za-z0-9.-]+$/.test(topic)) return apnsError(400, 'BadTopic')
  if (topic !== team.bundleId) return apnsError(400, 'DeviceTokenNotForTopic')
  if (token === '') return apnsError(400, 'MissingDeviceToken')
  if (!/^[0-9a-fA-F]+$/.test(token) || token.length % 2 !== 0) {
    return apnsError(400, 'BadDeviceToken')
  }

  const pushType = header('apns-push-type')
  if (!pushType || !PUSH_TYPES.includes(pushType)) return apnsError(400, 'InvalidPushType')
  const priority = header('apns-priority')
  if (priority !== undefined && !['1', '5', '10'].includes(priority)) {
    return apnsError(400, 'BadPriority')
  }
  const expiration = header('apns-expiration')
  if (expiration !== undefined && !/^\d+$/.test(expiration)) {
    return apnsError(400, 'BadExpirationDate')
  }
  const apnsId = header('apns-id')
  if (apnsId !== undefined && !CANONICAL_UUID.test(apnsId)) return apnsError(400, 'BadMessageId')

  if (text.length === 0) return apnsError(400, 'PayloadEmpty')
  if (Buffer.byteLength(text, 'utf8') > MAX_PAYLOAD) return apnsError(413, 'PayloadTooLarge')
  const payload = parsePayload(text)
  if (!payload) {
    state.unexpected.push({ method: 'POST', path: '/3/device/…', why: 'payload is not APNs JSON' })
    return apnsError(400, 'PayloadEmpty')
  }
  const aps = payload.aps as Record<string, unknown>
  if (pushType === 'background') {
    const silent =
      aps['content-available'] === 1 &&
      aps.alert === undefined &&
      aps.badge === undefined &&
      aps.sound === undefined
    if (!silent) return apnsError(400, 'InvalidPushType')
    // Apple: a background notification must be sent with priority 5.
    if (priority === '10') return apnsError(400, 'BadPriority')
  }

  const answer = await behave(state, team, token, res)
  if (answer) return answer
  // A GOAWAY went out while this one waited, with a last stream id below it: nghttp2 closed the
  // stream with REFUSED_STREAM, and Apple promises such a request was not processed.
  if ('stream' in req && req.stream.rstCode === h2.NGHTTP2_REFUSED_STREAM) return 'stall'

  const recorded: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if ((name.startsWith('apns-') || name === 'authorization') && typeof value === 'string') {
      recorded[name] = value
    }
  }
  state.notifications.push({
    teamId: team.teamId,
    token,
    protocol,
    headers: recorded,
    payload,
    receivedAt: Date.now(),
  })
  return { status: 200, headers: { 'apns-id': apnsId ?? randomUUID() } }
}

function parsePayload(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined
    const aps = (json as Record<string, unknown>).aps
    if (typeof aps !== 'object' || aps === null || Array.isArray(aps)) return undefined
    return json as Record<string, unknown>
  } catch {
    return undefined
  }
}

async function behave(
  state: FakeState,
  team: Team,
  token: string,
  res: Response,
): Promise<Answer | 'reset' | 'stall' | undefined> {
  const device = state.devices.get(token.toLowerCase())
  if (!device) return undefined
  device.attempts++
  const gone = (reason: string) => ({
    status: 410,
    body: { reason, timestamp: device.timestamp ?? state.now(team) },
  })
  switch (device.behaviour) {
    case 'ok':
      return undefined
    case 'unregistered':
      return gone('Unregistered')
    case 'expired':
      return gone('ExpiredToken')
    case 'bad':
      return apnsError(400, 'BadDeviceToken')
    case 'notfortopic':
      return apnsError(400, 'DeviceTokenNotForTopic')
    case 'throttle': {
      const answer = apnsError(429, 'TooManyRequests')
      if (device.retryAfter === undefined) return answer
      return { ...answer, headers: { 'retry-after': device.retryAfter } }
    }
    case 'unavailable':
      return apnsError(503, 'ServiceUnavailable')
    case 'shutdown':
      return apnsError(503, 'Shutdown')
    case 'internal':
      return apnsError(500, 'InternalServerError')
    case 'slow':
      await sleep(SLOW_MS, res)
      return undefined
    case 'stall':
      return 'stall'
    case 'reset':
      return 'reset'
  }
  const failures = Number(device.behaviour.slice('flaky'.length) || '1')
  return device.attempts <= failures ? apnsError(503, 'ServiceUnavailable') : undefined
}

function resetRequest(req: Request) {
  if ('stream' in req) req.stream.close(h2.NGHTTP2_INTERNAL_ERROR)
  else req.socket.destroy()
}

// --- control API ----------------------------------------------------------------------------

async function control(
  state: FakeState,
  method: string,
  url: URL,
  text: string,
): Promise<Answer | undefined> {
  const input = (text ? JSON.parse(text) : {}) as Record<string, unknown>
  const team = state.teams.get(String(input.teamId ?? url.searchParams.get('teamId')))
  const route = `${method} ${url.pathname}`
  switch (route) {
    case 'POST /_teams': {
      const teamId = String(input.teamId)
      state.teams.set(teamId, {
        teamId,
        keyId: String(input.keyId),
        publicKey: createPublicKey(String(input.publicKey)),
        bundleId: String(input.bundleId),
        maxTokenAgeS: Number(input.maxTokenAgeS ?? MAX_TOKEN_AGE_S),
        minTokenIntervalS: Number(input.minTokenIntervalS ?? MIN_TOKEN_INTERVAL_S),
        tokens: new Map(),
        requests: 0,
        inFlight: 0,
        maxInFlight: 0,
        answers: {},
      })
      return { status: 201, body: {} }
    }
    case 'POST /_devices': {
      const list = (Array.isArray(input) ? input : [input]) as Record<string, unknown>[]
      for (const d of list) {
        state.devices.set(String(d.token).toLowerCase(), {
          behaviour: d.behaviour as Behaviour,
          timestamp: typeof d.timestamp === 'number' ? d.timestamp : undefined,
          retryAfter: typeof d.retryAfter === 'string' ? d.retryAfter : undefined,
          attempts: 0,
        })
      }
      return { status: 204 }
    }
    case 'POST /_clock':
      if (!team) return { status: 404, body: { error: 'unknown team' } }
      team.clock = typeof input.now === 'number' ? input.now : undefined
      return { status: 204 }
    case 'POST /_expire':
      if (!team) return { status: 404, body: { error: 'unknown team' } }
      for (const token of team.tokens.values()) token.expired = true
      return { status: 204 }
    case 'GET /_notifications':
      return {
        status: 200,
        body: state.notifications.filter((n) => n.teamId === url.searchParams.get('teamId')),
      }
    case 'GET /_stats':
      if (!team) return { status: 404, body: { error: 'unknown team' } }
      return {
        status: 200,
        body: {
          providerTokens: team.tokens.size,
          requests: team.requests,
          maxInFlight: team.maxInFlight,
          answers: team.answers,
        },
      }
    case 'GET /_unexpected':
      return { status: 200, body: state.unexpected }
    case 'POST /_h2': {
      const server = await startH2(state, input as H2Options)
      const id = randomUUID()
      state.h2Servers.set(id, server)
      return { status: 201, body: { id, url: server.url } }
    }
    case 'POST /_reset':
      state.teams.clear()
      state.devices.clear()
      state.notifications = []
      state.unexpected = []
      return { status: 204 }
  }
  const h2Stats = /^GET \/_h2\/([^/]+)$/.exec(route)
  const known = h2Stats && state.h2Servers.get(h2Stats[1] ?? '')
  if (known) return { status: 200, body: known.stats }
  return undefined
}

// --- plumbing -------------------------------------------------------------------------------

function apnsError(status: number, reason: string): Answer {
  return { status, body: { reason } }
}

type Jwt = {
  header: Record<string, unknown>
  claims: Record<string, unknown>
  signedPart: string
  signature: string
}

function decodeJwt(text: string): Jwt | undefined {
  const parts = text.split('.')
  if (parts.length !== 3) return undefined
  const [h, p, signature] = parts as [string, string, string]
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'))
    return { header, claims, signedPart: `${h}.${p}`, signature }
  } catch {
    return undefined
  }
}

function reply(res: Response, answer: Answer) {
  if (res.headersSent || res.writableEnded) return
  const headers: Record<string, string> = { ...answer.headers }
  const body = answer.body === undefined ? undefined : JSON.stringify(answer.body)
  if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8'
  // The two response classes share these methods, but not one signature TypeScript can call.
  if ('stream' in res) res.writeHead(answer.status, headers).end(body ?? '')
  else res.writeHead(answer.status, headers).end(body ?? '')
}

function readBody(req: Request): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

// Waits, or stops early when the client goes away (a timed-out request).
function sleep(ms: number, res: Response): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    res.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
