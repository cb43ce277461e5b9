/**
 * A fake of Google's two FCM endpoints, run in Node by the test setup (test/fakes/fcm-setup.ts):
 *
 * - `POST /token`: the OAuth 2.0 token endpoint of the service-account flow. It verifies the
 *   RS256 assertion with node:crypto (independently of jose, which signs it in the Worker)
 *   against the public key registered for the `iss`, and checks `aud` (its own /token URL),
 *   `scope`, `iat`/`exp`, `kid` and the grant type, answering Google's OAuth error words.
 * - `POST /v1/projects/{project}/messages:send`: checks the bearer token is one it issued and
 *   still valid, the project exists and the token's account belongs to it, the body parses under
 *   Google's schema (fcm-schema.ts) and fits 4096 bytes, then answers by the registration token's
 *   behaviour with Google's exact error bodies.
 *
 * State is keyed by project and service account so that test files running at the same time do
 * not see each other. Control API (JSON bodies):
 *   POST /_accounts   {client_email, project_id, public_key (SPKI PEM), key_id?}
 *   POST /_revoke     {client_email, forever?} tokens issued so far (forever: also later) get 401
 *   POST /_behaviours {token, behaviour}      overrides the behaviour read from the token text
 *   POST /_projects   {project_id, delay_ms}  answers of that project wait delay_ms
 *   POST /_clock      {client_email, now}     pins that account's clock (ms; null: real time)
 *   GET  /_messages?project=P                 accepted messages, oldest first
 *   GET  /_stats?project=P&client_email=E     {mints, sends, maxInFlight}
 *   GET  /_unexpected                         requests no route matched (each answered 404)
 *   POST /_reset[?project=P]                  forgets everything, or one project's messages
 *
 * Behaviours, chosen by the control above or by how the registration token starts:
 * `ok`, `unregistered`, `mismatch`, `invalid`, `quota` (Retry-After: 17), `unavailable`,
 * `internal`, `flaky<N>` (503 for the first N attempts, then ok; N defaults to 1), `thirdparty`,
 * `hang` (answers after 30 s), `slow` (ok after 250 ms). Any other token is `ok`.
 */
import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { schemaViolation } from './fcm-schema'

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError'
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest'
/** What Google's token endpoint answers for a fresh token. */
const TOKEN_LIFETIME_S = 3599
const MAX_PAYLOAD = 4096
const QUOTA_RETRY_AFTER_S = 17
const HANG_MS = 30_000
const SLOW_MS = 250

export type Behaviour =
  | 'ok'
  | 'unregistered'
  | 'mismatch'
  | 'invalid'
  | 'quota'
  | 'unavailable'
  | 'internal'
  | 'thirdparty'
  | 'hang'
  | 'slow'
  | `flaky${number}`

export type RecordedMessage = {
  project: string
  token: string
  body: Record<string, unknown>
  authorization: string
  receivedAt: number
}

type Account = {
  clientEmail: string
  projectId: string
  publicKey: KeyObject
  keyId?: string
  /** Set by `/_revoke` with `forever`: tokens issued later are refused too. */
  refused?: boolean
}
type Issued = { clientEmail: string; scopes: string[]; expiresAt: number; revoked: boolean }
type Answer = { status: number; body: unknown; headers?: Record<string, string> }

export type FakeFcm = { url: string; close: () => Promise<void> }

export async function startFakeFcm(): Promise<FakeFcm> {
  const state = new FakeState()
  const server = createServer((req, res) => {
    handle(state, req, res).catch((error: unknown) => {
      reply(res, { status: 500, body: { fake_error: String(error) } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.base = `http://127.0.0.1:${port}`
  return {
    url: state.base,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

class FakeState {
  base = ''
  accounts = new Map<string, Account>()
  issued = new Map<string, Issued>()
  mints = new Map<string, number>()
  clocks = new Map<string, number>()
  behaviours = new Map<string, Behaviour>()
  attempts = new Map<string, number>()
  delays = new Map<string, number>()
  sends = new Map<string, number>()
  inFlight = new Map<string, number>()
  maxInFlight = new Map<string, number>()
  messages: RecordedMessage[] = []
  unexpected: { method: string; path: string }[] = []

  now(clientEmail: string): number {
    return this.clocks.get(clientEmail) ?? Date.now()
  }

  projects(): Set<string> {
    return new Set([...this.accounts.values()].map((a) => a.projectId))
  }
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', state.base)
  const body = await readBody(req)
  const route = `${req.method} ${url.pathname}`

  if (route === 'POST /token') return reply(res, tokenEndpoint(state, req, body))
  const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname)
  if (req.method === 'POST' && send) {
    return sendEndpoint(state, req, res, decodeURIComponent(send[1] as string), body)
  }
  if (url.pathname.startsWith('/_')) {
    const answer = control(state, route, url, body)
    if (answer) return reply(res, answer)
  }

  state.unexpected.push({ method: req.method ?? '', path: url.pathname + url.search })
  reply(res, googleError(404, 'NOT_FOUND', 'Requested entity was not found.'))
}

// --- OAuth 2.0 token endpoint -------------------------------------------------------------

function tokenEndpoint(state: FakeState, req: IncomingMessage, body: string): Answer {
  const refuse = (error: string, description: string) => ({
    status: 400,
    body: { error, error_description: description },
  })
  if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
    return refuse('invalid_request', 'Content-Type must be application/x-www-form-urlencoded.')
  }
  const form = new URLSearchParams(body)
  if (form.get('grant_type') !== JWT_BEARER) {
    return refuse('unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`)
  }
  const jwt = decodeJwt(form.get('assertion') ?? '')
  if (!jwt) return refuse('invalid_grant', 'Invalid JWT: the assertion is not a JWT.')
  const { header, claims } = jwt

  const account = typeof claims.iss === 'string' ? state.accounts.get(claims.iss) : undefined
  if (!account) return refuse('invalid_grant', 'Invalid grant: account not found')
  if (header.alg !== 'RS256') return refuse('invalid_grant', 'Invalid JWT: alg must be RS256.')
  if (account.keyId !== undefined && header.kid !== account.keyId) {
    return refuse('invalid_grant', 'Invalid JWT Signature.')
  }
  const signature = Buffer.from(jwt.signature, 'base64url')
  if (!verify('sha256', Buffer.from(jwt.signedPart), account.publicKey, signature)) {
    return refuse('invalid_grant', 'Invalid JWT Signature.')
  }
  if (claims.aud !== `${state.base}/token`) {
    return refuse('invalid_grant', 'Invalid JWT: Failed audience check.')
  }

  const now = Math.floor(state.now(account.clientEmail) / 1000)
  const { iat, exp } = claims
  const timely =
    typeof iat === 'number' &&
    typeof exp === 'number' &&
    exp > iat &&
    exp - iat <= 3600 &&
    iat <= now + 60 &&
    exp > now
  if (!timely) {
    return refuse(
      'invalid_grant',
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
    )
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []
  if (scopes.length === 0) {
    return refuse('invalid_scope', 'Invalid OAuth scope or ID token audience provided.')
  }

  const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`
  state.issued.set(accessToken, {
    clientEmail: account.clientEmail,
    scopes,
    expiresAt: state.now(account.clientEmail) + TOKEN_LIFETIME_S * 1000,
    revoked: false,
  })
  state.mints.set(account.clientEmail, (state.mints.get(account.clientEmail) ?? 0) + 1)
  return {
    status: 200,
    body: { access_token: accessToken, expires_in: TOKEN_LIFETIME_S, token_type: 'Bearer' },
  }
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

// --- messages:send ------------------------------------------------------------------------

async function sendEndpoint(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  project: string,
  text: string,
) {
  state.sends.set(project, (state.sends.get(project) ?? 0) + 1)
  const inFlight = (state.inFlight.get(project) ?? 0) + 1
  state.inFlight.set(project, inFlight)
  state.maxInFlight.set(project, Math.max(state.maxInFlight.get(project) ?? 0, inFlight))
  try {
    const delay = state.delays.get(project) ?? 0
    if (delay > 0) await sleep(delay, res)
    const answer = await sendAnswer(state, req, res, project, text)
    reply(res, answer)
  } finally {
    state.inFlight.set(project, (state.inFlight.get(project) ?? 1) - 1)
  }
}

async function sendAnswer(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  project: string,
  text: string,
): Promise<Answer> {
  const authorization = req.headers.authorization ?? ''
  const issued = state.issued.get(/^Bearer (.+)$/.exec(authorization)?.[1] ?? '')
  const accountRefused = issued && state.accounts.get(issued.clientEmail)?.refused
  if (
    !issued ||
    issued.revoked ||
    accountRefused ||
    state.now(issued.clientEmail) >= issued.expiresAt
  ) {
    return unauthenticated()
  }
  // Google answers an unknown project with a bare NOT_FOUND: no FcmError detail (case 7).
  if (!state.projects().has(project)) {
    return googleError(404, 'NOT_FOUND', 'Requested entity was not found.')
  }
  const account = state.accounts.get(issued.clientEmail)
  if (account?.projectId !== project) {
    return googleError(
      403,
      'PERMISSION_DENIED',
      `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
    )
  }
  if (!issued.scopes.includes(FCM_SCOPE) && !issued.scopes.includes(CLOUD_PLATFORM_SCOPE)) {
    return googleError(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.')
  }
  if (!req.headers['content-type']?.startsWith('application/json')) {
    return badRequest('message', 'Invalid JSON payload received. Content-Type must be JSON.')
  }

  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return badRequest('', 'Invalid JSON payload received. Unexpected token.')
  }
  const violation = schemaViolation(body)
  if (violation) return badRequest(violation.field, violation.description)
  const message = (body as { message?: Record<string, unknown> }).message ?? {}
  const unsendable = semanticProblem(message)
  if (unsendable) return unsendable

  const token = message.token as string
  const behaviour = behaviourOf(state, token)
  const attempt = (state.attempts.get(`${project}\n${token}`) ?? 0) + 1
  state.attempts.set(`${project}\n${token}`, attempt)
  const answer = await behave(behaviour, attempt, res)
  if (answer) return answer

  state.messages.push({
    project,
    token,
    body: body as Record<string, unknown>,
    authorization,
    receivedAt: Date.now(),
  })
  const id = `0:${Date.now()}%${randomBytes(8).toString('hex')}`
  return { status: 200, body: { name: `projects/${project}/messages/${id}` } }
}

// What Google refuses after the body has parsed: the target, the TTL range, reserved data
// keys, and the 4096-byte limit (keys and values of `data`, notification title and body).
function semanticProblem(message: Record<string, unknown>): Answer | undefined {
  const targets = ['token', 'topic', 'condition'].filter((k) => message[k] !== undefined)
  if (targets.length !== 1 || typeof message.token !== 'string') {
    return badRequest('message', 'Exactly one of token, topic or condition must be set.')
  }
  const android = (message.android ?? {}) as Record<string, unknown>
  const ttl = typeof android.ttl === 'string' ? Number.parseFloat(android.ttl) : 0
  if (ttl < 0 || ttl > 2_419_200) {
    return badRequest('message.android.ttl', 'TTL must be between 0 and 4 weeks.')
  }
  const notificationCount = (android.notification as Record<string, unknown> | undefined)
    ?.notification_count
  if (typeof notificationCount === 'number' && notificationCount < 0) {
    return badRequest('message.android.notification.notification_count', 'Must be >= 0.')
  }

  const data = (message.data ?? {}) as Record<string, string>
  for (const key of Object.keys(data)) {
    if (key === 'from' || key === 'message_type' || /^(google|gcm)/.test(key)) {
      return fcmError(
        400,
        'INVALID_ARGUMENT',
        'INVALID_ARGUMENT',
        `Invalid data payload key: ${key}`,
      )
    }
  }
  const notification = (message.notification ?? {}) as Record<string, string>
  let bytes = byteLength(notification.title ?? '') + byteLength(notification.body ?? '')
  for (const [key, value] of Object.entries(data)) bytes += byteLength(key) + byteLength(value)
  if (bytes > MAX_PAYLOAD) {
    return fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'Android message is too big')
  }
  return undefined
}

function behaviourOf(state: FakeState, token: string): Behaviour {
  const chosen = state.behaviours.get(token)
  if (chosen) return chosen
  const word = /^([a-z]+\d*)/.exec(token)?.[1] ?? ''
  const known = [
    'ok',
    'unregistered',
    'mismatch',
    'invalid',
    'quota',
    'unavailable',
    'internal',
    'thirdparty',
    'hang',
    'slow',
  ]
  if (known.includes(word) || /^flaky\d*$/.test(word)) return word as Behaviour
  return 'ok'
}

async function behave(
  behaviour: Behaviour,
  attempt: number,
  res: ServerResponse,
): Promise<Answer | undefined> {
  switch (behaviour) {
    case 'ok':
      return undefined
    case 'unregistered':
      return fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.')
    case 'mismatch':
      return fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'SenderId mismatch')
    case 'invalid':
      return fcmError(
        400,
        'INVALID_ARGUMENT',
        'INVALID_ARGUMENT',
        'The registration token is not a valid FCM registration token',
      )
    case 'quota': {
      const answer = fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'Quota exceeded.')
      return { ...answer, headers: { 'Retry-After': String(QUOTA_RETRY_AFTER_S) } }
    }
    case 'unavailable':
      return fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE', 'The service is currently unavailable.')
    case 'internal':
      return fcmError(500, 'INTERNAL', 'INTERNAL', 'Internal error encountered.')
    case 'thirdparty':
      return fcmError(
        401,
        'UNAUTHENTICATED',
        'THIRD_PARTY_AUTH_ERROR',
        'Auth error from APNS or Web Push Service',
      )
    case 'hang':
      await sleep(HANG_MS, res)
      return undefined
    case 'slow':
      await sleep(SLOW_MS, res)
      return undefined
  }
  const failures = Number(behaviour.slice('flaky'.length) || '1')
  if (attempt <= failures) {
    return fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE', 'The service is currently unavailable.')
  }
  return undefined
}

// --- Google's error shapes ----------------------------------------------------------------

function googleError(code: number, status: string, message: string, details?: unknown[]): Answer {
  const error = details ? { code, message, status, details } : { code, message, status }
  return { status: code, body: { error } }
}

function fcmError(code: number, status: string, errorCode: string, message: string): Answer {
  return googleError(code, status, message, [{ '@type': FCM_ERROR, errorCode }])
}

function badRequest(field: string, description: string): Answer {
  return googleError(400, 'INVALID_ARGUMENT', description, [
    { '@type': BAD_REQUEST, fieldViolations: [{ field, description }] },
  ])
}

function unauthenticated(): Answer {
  const answer = googleError(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  )
  return {
    ...answer,
    headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' },
  }
}

// --- control API --------------------------------------------------------------------------

function control(state: FakeState, route: string, url: URL, text: string): Answer | undefined {
  const input = (text ? JSON.parse(text) : {}) as Record<string, unknown>
  const project = url.searchParams.get('project')
  switch (route) {
    case 'POST /_accounts': {
      const clientEmail = String(input.client_email)
      state.accounts.set(clientEmail, {
        clientEmail,
        projectId: String(input.project_id),
        publicKey: createPublicKey(String(input.public_key)),
        keyId: typeof input.key_id === 'string' ? input.key_id : undefined,
      })
      return { status: 201, body: { token_uri: `${state.base}/token` } }
    }
    case 'POST /_revoke': {
      const account = state.accounts.get(String(input.client_email))
      if (account && input.forever === true) account.refused = true
      let revoked = 0
      for (const issued of state.issued.values()) {
        if (issued.clientEmail === input.client_email && !issued.revoked) {
          issued.revoked = true
          revoked++
        }
      }
      return { status: 200, body: { revoked } }
    }
    case 'POST /_behaviours':
      state.behaviours.set(String(input.token), input.behaviour as Behaviour)
      return { status: 204, body: undefined }
    case 'POST /_projects':
      state.delays.set(String(input.project_id), Number(input.delay_ms ?? 0))
      return { status: 204, body: undefined }
    case 'POST /_clock':
      if (typeof input.now === 'number') state.clocks.set(String(input.client_email), input.now)
      else state.clocks.delete(String(input.client_email))
      return { status: 204, body: undefined }
    case 'GET /_messages':
      return { status: 200, body: state.messages.filter((m) => !project || m.project === project) }
    case 'GET /_stats': {
      const clientEmail = url.searchParams.get('client_email') ?? ''
      return {
        status: 200,
        body: {
          mints: state.mints.get(clientEmail) ?? 0,
          sends: state.sends.get(project ?? '') ?? 0,
          maxInFlight: state.maxInFlight.get(project ?? '') ?? 0,
        },
      }
    }
    case 'GET /_unexpected':
      return { status: 200, body: state.unexpected }
    case 'POST /_reset':
      reset(state, project)
      return { status: 204, body: undefined }
  }
  return undefined
}

function reset(state: FakeState, project: string | null) {
  if (project) {
    state.messages = state.messages.filter((m) => m.project !== project)
    for (const map of [state.sends, state.maxInFlight, state.delays]) map.delete(project)
    for (const key of state.attempts.keys()) {
      if (key.startsWith(`${project}\n`)) state.attempts.delete(key)
    }
    return
  }
  for (const map of [
    state.accounts,
    state.issued,
    state.mints,
    state.clocks,
    state.behaviours,
    state.attempts,
    state.delays,
    state.sends,
    state.maxInFlight,
  ]) {
    map.clear()
  }
  state.messages = []
  state.unexpected = []
}

// --- plumbing -----------------------------------------------------------------------------

function reply(res: ServerResponse, answer: Answer) {
  if (res.headersSent || res.destroyed) return
  const headers: Record<string, string> = { ...answer.headers }
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end()
    return
  }
  headers['Content-Type'] = 'application/json; charset=UTF-8'
  res.writeHead(answer.status, headers).end(JSON.stringify(answer.body))
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

// Waits, or stops early when the client goes away (a timed-out request).
function sleep(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    res.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
