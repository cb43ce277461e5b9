/// <reference types="node" />
// `npm run demo`: one message, end to end, on this machine. It starts the fake Web Push service,
// the fake FCM and the fake APNs (test/fakes/) in this process, a real `wrangler dev` with fresh
// local D1 and Queues (the integration harness, test/integration/wrangler-dev.ts), creates an
// application with an `android`, an `ios_token` and a `web_push` variant, registers live, dead
// and flaky devices the way devices do, sends one message with the master secret, and watches
// the metrics until every variant is done. Then it checks the result from the outside: what the
// fakes received, which installations are left. Exit code 0 when every live and flaky device got
// the message and every dead one was pruned, 1 otherwise. The Worker and the fakes are stopped
// in every case.
//
// APNs goes through the Worker's own HTTP/2 client (APNS_TRANSPORT=h2: prior knowledge to an
// HTTP/2 port of the fake APNs, which counts connections and streams) unless `--transport fetch`
// or DEMO_APNS_TRANSPORT=fetch picks the `fetch` transport and the fake's HTTP/1.1 port:
// `npm run demo -- --transport fetch`.
//
// Run through npm: tsx runs the TypeScript fakes as they are (Node's own type stripping cannot
// resolve their extensionless imports), on the Node 22 of the `node` devDependency.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { type FakeApns, startFakeApns } from '../test/fakes/apns'
import { type FakeFcm, startFakeFcm } from '../test/fakes/fcm'
import { type FakePushService, startFakePushService } from '../test/fakes/webpush'
import { type RunningWorker, startWorker } from '../test/integration/wrangler-dev'

/** Devices per variant: live ones answer OK, dead ones are gone, flaky ones fail first. */
const AUDIENCE = { live: 20, dead: 3, flaky: 3 } as const
/** Transient failures (503) before a flaky device accepts: two retries with backoff. */
const FLAKY_FAILURES = 2
const DONE_TIMEOUT_MS = 60_000
const POLL_MS = 500
const REGISTER_CONCURRENCY = 8

/** What each variant's devices say they run; anything else is a browser. */
const OPERATING_SYSTEMS: Record<string, string> = { android: 'android', ios_token: 'ios' }

type Kind = 'live' | 'dead' | 'flaky'
const KINDS: Kind[] = ['live', 'dead', 'flaky']

type Device = {
  kind: Kind
  installationId: string
  /** The token as Pushgate should store and send it. */
  token: string
  /** The deviceToken the registry answered with. */
  stored: string
  endpoint?: string
}
type Variant = { variantID: string; secret: string; name: string; type: string }
type Transport = 'h2' | 'fetch'
/** What the ios_token variant is created with and the fake APNs is told about. */
type AppleKey = { teamId: string; keyId: string; bundleId: string; privateKey: string }

const AppAnswer = z.object({ pushApplicationID: z.string(), masterSecret: z.string() })
const VariantAnswer = z.object({
  variantID: z.string(),
  secret: z.string(),
  name: z.string(),
  type: z.string(),
  publicKey: z.string().optional(),
})
const InstallationAnswer = z.object({ id: z.string(), deviceToken: z.string() })
const SendAnswer = z.object({ id: z.string() })
const VariantProgress = z.object({
  variantID: z.string(),
  type: z.string(),
  receivers: z.number(),
  delivered: z.number(),
  failed: z.number(),
  invalidTokens: z.number(),
  pending: z.number(),
  status: z.string(),
  reasons: z.record(z.string(), z.number()).default({}),
})
const Job = z.object({ id: z.string(), variants: z.array(VariantProgress) })
type Job = z.infer<typeof Job>
const Subscription = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
})
const Deliveries = z.array(z.object({ status: z.number(), payload: z.unknown().optional() }))
// FCM's `data` is a map of strings: the record refuses any other value.
const FcmMessages = z.array(
  z.object({
    token: z.string(),
    body: z.object({ message: z.object({ data: z.record(z.string(), z.string()) }) }),
  }),
)
const WebPayload = z.object({ alert: z.string(), 'aerogear-push-id': z.string() })
const ApnsNotifications = z.array(
  z.object({
    token: z.string(),
    protocol: z.enum(['http/1.1', 'h2']),
    headers: z.record(z.string(), z.string()),
    payload: z.object({ aps: z.object({ alert: z.unknown() }), 'aerogear-push-id': z.unknown() }),
  }),
)
const ApnsStats = z.object({
  providerTokens: z.number(),
  requests: z.number(),
  maxInFlight: z.number(),
  answers: z.record(z.string(), z.number()),
})
const H2Server = z.object({ id: z.string(), url: z.string() })
const H2Stats = z.object({
  sessions: z.number(),
  streams: z.number(),
  maxInFlight: z.number(),
  resets: z.number(),
})
const Unexpected = z.array(z.unknown())

const transport = apnsTransport()
const started = Date.now()
const ALERT = 'Hello from Pushgate'
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
const step = (text: string) => console.log(`▸ ${text} (${since()})`)

let worker: RunningWorker | undefined
let webPush: FakePushService | undefined
let fcm: FakeFcm | undefined
let apns: FakeApns | undefined

const stopAll = once(async () => {
  await worker?.stop().catch(() => {})
  await Promise.all([webPush?.close(), fcm?.close(), apns?.close()].map((p) => p?.catch(() => {})))
})

let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true
    console.error(`\n${signal}: stopping the Worker and the fakes`)
    void stopAll().then(() => process.exit(130))
  })
}

let code = 1
try {
  code = await main()
} catch (error) {
  // After a signal, requests fail because the Worker is being stopped: not worth a line.
  const text = error instanceof Error ? error.message : String(error)
  if (!interrupted) console.error(`demo failed: ${text}`)
} finally {
  await stopAll()
}
process.exit(code)

async function main(): Promise<number> {
  ;[webPush, fcm, apns] = await Promise.all([
    startFakePushService(),
    startFakeFcm(),
    startFakeApns(),
  ])
  step(`fake Web Push at ${webPush.url}, fake FCM at ${fcm.url}`)
  // For h2, a port of its own on the fake (same handler and state, Apple's 1-then-1000 streams)
  // that also counts connections and streams; the fetch transport speaks HTTP/1.1.
  const h2 = transport === 'h2' ? H2Server.parse(await control(apns.url, 'POST', '/_h2', {})) : null
  step(
    h2
      ? `fake APNs at ${h2.url} (HTTP/2, prior knowledge), control API at ${apns.url}`
      : `fake APNs at ${apns.url} (HTTP/1.1)`,
  )

  // The ios_token variant is a sandbox one (production false): its notifications go here.
  const apnsEndpoint = h2?.url ?? apns.url
  worker = await startWorker({
    vars: {
      ALLOW_INSECURE_ENDPOINTS: 'true',
      FCM_ENDPOINT: fcm.url,
      APNS_ENDPOINT_SANDBOX: apnsEndpoint,
      APNS_TRANSPORT: transport,
    },
  })
  step(`Pushgate (wrangler dev) at ${worker.url}, APNS_TRANSPORT=${transport} to ${apnsEndpoint}`)
  const api = client(worker)

  const app = AppAnswer.parse(await api.admin('POST', '/rest/applications', { name: 'Demo' }))
  const appPath = `/rest/applications/${app.pushApplicationID}`
  const account = await serviceAccount(fcm.url)
  const android = VariantAnswer.parse(
    await api.admin('POST', `${appPath}/android`, { name: 'Android app', serviceAccount: account }),
  )
  const apple = await appleKey(apns.url)
  const ios = VariantAnswer.parse(
    await api.admin('POST', `${appPath}/ios_token`, {
      name: 'iOS app',
      privateKey: apple.privateKey,
      keyId: apple.keyId,
      teamId: apple.teamId,
      bundleId: apple.bundleId,
      production: false,
    }),
  )
  const web = VariantAnswer.parse(
    await api.admin('POST', `${appPath}/web_push`, {
      name: 'Website',
      alias: 'mailto:ops@example.com',
    }),
  )
  const publicKey = z.string().parse(web.publicKey)
  step('application with an android, an ios_token and a web_push variant (VAPID by Pushgate)')
  step(`ios_token: a fresh ES256 .p8, team ${apple.teamId}, key ${apple.keyId}, sandbox`)

  const androidDevices = await register(api, android, androidSpecs())
  const iosSpecs = await iosDeviceSpecs(apns.url)
  const iosDevices = await register(api, ios, iosSpecs)
  // Apple's 410 carries when the token stopped being valid; Pushgate prunes only devices that
  // registered before that. These became invalid a moment after their registration.
  await control(
    apns.url,
    'POST',
    '/_devices',
    iosDevices
      .filter((d) => d.kind === 'dead')
      .map((d) => ({ token: d.token, behaviour: 'unregistered', timestamp: Date.now() + 1 })),
  )
  const webDevices = await register(api, web, await webSpecs(webPush.url, publicKey))
  step(
    `registered ${androidDevices.length + iosDevices.length + webDevices.length} devices ` +
      'through the registry',
  )
  // The one iOS token registered in NSData's spelling, and what the registry answered.
  const spelled = iosSpecs.findIndex((spec) => spec.deviceToken !== spec.token)
  const answered = iosDevices[spelled]
  if (answered) {
    const sent = String(iosSpecs[spelled]?.deviceToken)
    step(`iOS token registered as "${shorten(sent)}", stored as "${shorten(answered.stored)}"`)
  }

  const sent = SendAnswer.parse(
    await api.basic('POST', '/rest/sender', app.pushApplicationID, app.masterSecret, {
      message: {
        alert: ALERT,
        priority: 'high',
        'user-data': { orderId: 'A-1042', items: 3 },
      },
      config: { ttl: 3600 },
    }),
  )
  step(`sent message ${sent.id}`)
  step('following its metrics until every variant is done (delivered/receivers, pending)')

  const job = await waitUntilDone(api, sent.id)
  const variants = [android, ios, web]
  const names = new Map(variants.map((v) => [v.variantID, v.name]))
  console.log()
  printTable(job, names)
  console.log()

  const apnsCheck = await checkApns(apns.url, h2?.id, apple.teamId, iosDevices, sent.id)
  console.log(apnsCheck.summary)
  console.log()

  const problems = [
    ...checkCounts(job, variants),
    ...(await checkFcm(fcm.url, account.project_id, androidDevices, sent.id)),
    ...apnsCheck.problems,
    ...(await checkWebPush(webPush.url, webDevices, sent.id)),
    ...(await checkInstallations(api, android, androidDevices)),
    ...(await checkInstallations(api, ios, iosDevices)),
    ...(await checkInstallations(api, web, webDevices)),
  ]
  const all = [...androidDevices, ...iosDevices, ...webDevices]
  const count = (kind: Kind) => all.filter((d) => d.kind === kind).length
  if (problems.length > 0) {
    for (const problem of problems) console.log(`  ✗ ${problem}`)
    console.log(`FAIL: ${problems.length} problem(s) (${since()})`)
    return 1
  }
  console.log(
    `PASS: ${count('live')}/${count('live')} live devices delivered, ` +
      `${count('dead')}/${count('dead')} dead ones pruned, ` +
      `${count('flaky')}/${count('flaky')} flaky ones delivered after ${FLAKY_FAILURES} retries ` +
      `(${since()})`,
  )
  return 0
}

/** `--transport h2|fetch`, else DEMO_APNS_TRANSPORT, else h2. */
function apnsTransport(): Transport {
  let flag: string | undefined
  try {
    flag = parseArgs({ options: { transport: { type: 'string' } } }).values.transport
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : error}`)
    process.exit(2)
  }
  const chosen = flag ?? process.env.DEMO_APNS_TRANSPORT ?? 'h2'
  if (chosen === 'h2' || chosen === 'fetch') return chosen
  console.error(`demo: the APNs transport is h2 or fetch, not "${chosen}"`)
  process.exit(2)
}

// --- HTTP -----------------------------------------------------------------------------------

type Api = ReturnType<typeof client>

function client(w: RunningWorker) {
  const call = async (method: string, path: string, auth: string, body?: unknown) => {
    const res = await fetch(`${w.url}${path}`, {
      method,
      headers: {
        authorization: auth,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
  return {
    admin: (method: string, path: string, body?: unknown) =>
      call(method, path, `Bearer ${w.adminToken}`, body),
    basic: (method: string, path: string, user: string, pass: string, body?: unknown) =>
      call(method, path, `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, body),
  }
}

async function control(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`fake ${method} ${path}: ${res.status}`)
  return res.status === 204 ? undefined : res.json()
}

// --- Setup ----------------------------------------------------------------------------------

/** A service-account key file as Google hands it out, for a key the fake FCM is told about. */
async function serviceAccount(fcmUrl: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const project = `pushgate-demo-${randomBytes(3).toString('hex')}`
  const email = `pushgate-sender@${project}.iam.gserviceaccount.com`
  const keyId = randomBytes(20).toString('hex')
  await control(fcmUrl, 'POST', '/_accounts', {
    client_email: email,
    project_id: project,
    public_key: publicKey,
    key_id: keyId,
  })
  return {
    type: 'service_account',
    project_id: project,
    private_key_id: keyId,
    private_key: privateKey,
    client_email: email,
    client_id: BigInt(`0x${randomBytes(8).toString('hex')}`).toString(),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: `${fcmUrl}/token`,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
    universe_domain: 'googleapis.com',
  }
}

/**
 * A signing key as Apple Developer hands it out (a .p8 file: P-256, PKCS#8 PEM) with its key id,
 * the team id and a bundle id; the fake APNs gets the public half to check provider tokens.
 */
async function appleKey(apnsUrl: string): Promise<AppleKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const appleId = () => randomBytes(5).toString('hex').toUpperCase()
  const key = {
    teamId: appleId(),
    keyId: appleId(),
    bundleId: `com.example.pushgate-demo-${randomBytes(3).toString('hex')}`,
    privateKey,
  }
  const { teamId, keyId, bundleId } = key
  await control(apnsUrl, 'POST', '/_teams', { teamId, keyId, publicKey, bundleId })
  return key
}

type Spec = {
  kind: Kind
  deviceToken: string | z.infer<typeof Subscription>
  /** The token as Pushgate stores and sends it, when it differs from `deviceToken`. */
  token?: string
  endpoint?: string
}

/** FCM registration tokens; the fake FCM reads the behaviour from the token's first word. */
function androidSpecs(): Spec[] {
  const word: Record<Kind, string> = {
    live: 'ok',
    dead: 'unregistered',
    flaky: `flaky${FLAKY_FAILURES}`,
  }
  return KINDS.flatMap((kind) =>
    Array.from({ length: AUDIENCE[kind] }, () => ({
      kind,
      deviceToken: `${word[kind]}-${randomUUID().replaceAll('-', '')}:APA91b${'x'.repeat(120)}`,
    })),
  )
}

/**
 * APNs device tokens: 32 random bytes in hex. The fake is told how each answers (a dead one
 * after registration, see main); the first live one is registered the way old iOS clients send
 * it, NSData's description `<1e2122ba 4ccabb8e ...>`, here in upper case.
 */
async function iosDeviceSpecs(apnsUrl: string): Promise<Spec[]> {
  const specs: Spec[] = KINDS.flatMap((kind) =>
    Array.from({ length: AUDIENCE[kind] }, () => {
      const token = randomBytes(32).toString('hex')
      return { kind, deviceToken: token, token }
    }),
  )
  const first = specs[0]
  if (first?.token) {
    const groups = first.token.toUpperCase().match(/.{8}/g) ?? []
    first.deviceToken = `<${groups.join(' ')}>`
  }
  const behaviours = specs
    .filter((spec) => spec.kind !== 'dead')
    .map((spec) => ({
      token: spec.token,
      behaviour: spec.kind === 'flaky' ? `flaky${FLAKY_FAILURES}` : 'ok',
    }))
  await control(apnsUrl, 'POST', '/_devices', behaviours)
  return specs
}

/** Real subscriptions from the fake push service, bound to the variant's VAPID key. */
async function webSpecs(webPushUrl: string, applicationServerKey: string): Promise<Spec[]> {
  const behaviour: Record<Kind, object> = {
    live: { behaviour: 'ok' },
    dead: { behaviour: 'gone' },
    flaky: { behaviour: 'flaky', failures: FLAKY_FAILURES },
  }
  const specs: Spec[] = []
  for (const kind of KINDS) {
    for (let i = 0; i < AUDIENCE[kind]; i++) {
      const body = { ...behaviour[kind], applicationServerKey }
      const sub = Subscription.parse(await control(webPushUrl, 'POST', '/_subscribe', body))
      specs.push({ kind, deviceToken: sub, endpoint: sub.endpoint })
    }
  }
  return specs
}

async function register(api: Api, variant: Variant, specs: Spec[]): Promise<Device[]> {
  const devices: Device[] = []
  for (let i = 0; i < specs.length; i += REGISTER_CONCURRENCY) {
    const group = specs.slice(i, i + REGISTER_CONCURRENCY)
    const stored = await Promise.all(
      group.map(async (spec, j) => {
        const registration = {
          deviceToken: spec.deviceToken,
          alias: `${variant.type}-user-${i + j}@example.com`,
          operatingSystem: OPERATING_SYSTEMS[variant.type] ?? 'web',
          categories: ['demo'],
        }
        const { variantID, secret } = variant
        const path = '/rest/registry/device'
        const answer = await api.basic('POST', path, variantID, secret, registration)
        const token =
          spec.token ??
          (typeof spec.deviceToken === 'string'
            ? spec.deviceToken
            : JSON.stringify(spec.deviceToken))
        const { id, deviceToken: stored } = InstallationAnswer.parse(answer)
        return { kind: spec.kind, installationId: id, token, stored, endpoint: spec.endpoint }
      }),
    )
    devices.push(...stored)
  }
  return devices
}

// --- Watching -------------------------------------------------------------------------------

async function waitUntilDone(api: Api, id: string): Promise<Job> {
  const deadline = Date.now() + DONE_TIMEOUT_MS
  let last = ''
  for (;;) {
    const job = Job.parse(await api.admin('GET', `/rest/metrics/messages/${id}`))
    const line = job.variants.map(progressLine).join(' · ')
    if (line !== last) console.log(`  ${since().padStart(7)}  ${line}`)
    last = line
    const done = job.variants.length > 0 && job.variants.every((v) => v.status === 'done')
    if (done) return job
    if (Date.now() > deadline) {
      console.log(`  not done after ${DONE_TIMEOUT_MS / 1000} s; checking what there is`)
      return job
    }
    await sleep(POLL_MS)
  }
}

function progressLine(v: z.infer<typeof VariantProgress>): string {
  if (v.receivers === 0 && v.status !== 'done') return `${v.type} planning`
  return `${v.type} ${v.delivered}/${v.receivers}, ${v.pending} pending`
}

function printTable(job: Job, names: Map<string, string>) {
  const header = [
    'variant',
    'type',
    'receivers',
    'delivered',
    'failed',
    'invalidTokens',
    'pending',
    'reasons',
  ]
  const rows = job.variants.map((v) => [
    names.get(v.variantID) ?? v.variantID,
    v.type,
    String(v.receivers),
    String(v.delivered),
    String(v.failed),
    String(v.invalidTokens),
    String(v.pending),
    Object.entries(v.reasons)
      .map(([reason, n]) => `${reason} ×${n}`)
      .join(', ') || '-',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const numeric = (i: number) => i >= 2 && i <= 6
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  console.log(format(header))
  console.log(widths.map((w) => '─'.repeat(w)).join('  '))
  for (const row of rows) console.log(format(row))
}

// --- Checks from the outside ----------------------------------------------------------------

function checkCounts(job: Job, variants: Variant[]): string[] {
  const problems: string[] = []
  const expected = {
    receivers: AUDIENCE.live + AUDIENCE.dead + AUDIENCE.flaky,
    delivered: AUDIENCE.live + AUDIENCE.flaky,
    failed: 0,
    invalidTokens: AUDIENCE.dead,
    pending: 0,
  }
  for (const variant of variants) {
    const v = job.variants.find((p) => p.variantID === variant.variantID)
    if (!v) {
      problems.push(`${variant.type}: no progress in the metrics`)
      continue
    }
    for (const [field, want] of Object.entries(expected)) {
      const got = v[field as keyof typeof expected]
      if (got !== want) problems.push(`${variant.type}: ${field} is ${got}, expected ${want}`)
    }
    if (v.status !== 'done') problems.push(`${variant.type}: status is ${v.status}`)
  }
  return problems
}

/**
 * What the fake FCM accepted. A flaky token is accepted only after its 503s, so being accepted
 * proves the retries; a dead token is never accepted.
 */
async function checkFcm(fcmUrl: string, project: string, devices: Device[], pushId: string) {
  const problems: string[] = []
  const messages = FcmMessages.parse(await control(fcmUrl, 'GET', `/_messages?project=${project}`))
  const received = new Set(messages.map((m) => m.token))
  if (messages.some((m) => m.body.message.data['aerogear-push-id'] !== pushId)) {
    problems.push('an FCM message lacks the push message id')
  }
  for (const device of devices) {
    const got = received.has(device.token)
    if (device.kind !== 'dead' && !got) problems.push(`android ${device.kind} device not reached`)
    if (device.kind === 'dead' && got) problems.push('android dead device accepted a message')
  }
  const unexpected = Unexpected.parse(await control(fcmUrl, 'GET', '/_unexpected'))
  if (unexpected.length > 0) problems.push(`fake FCM got ${unexpected.length} unexpected requests`)
  return problems
}

/**
 * What the fake APNs accepted and answered for the team. It records a notification only once it
 * accepted it: a flaky device is recorded after its 503s (counted in the team's answers), a dead
 * one never. Every notification must carry the same provider token, and have come over the
 * protocol of the chosen transport.
 */
async function checkApns(
  apnsUrl: string,
  h2Id: string | undefined,
  teamId: string,
  devices: Device[],
  pushId: string,
) {
  const problems: string[] = []
  const team = encodeURIComponent(teamId)
  const notifications = ApnsNotifications.parse(
    await control(apnsUrl, 'GET', `/_notifications?teamId=${team}`),
  )
  const stats = ApnsStats.parse(await control(apnsUrl, 'GET', `/_stats?teamId=${team}`))
  const received = new Map<string, number>()
  for (const n of notifications) received.set(n.token, (received.get(n.token) ?? 0) + 1)
  for (const device of devices) {
    const times = received.get(device.token) ?? 0
    if (device.kind !== 'dead' && times !== 1) {
      problems.push(`ios_token ${device.kind} device received ${times} notifications, expected 1`)
    }
    if (device.kind === 'dead' && times > 0) problems.push('ios_token dead device accepted one')
  }
  if (notifications.some((n) => n.payload.aps.alert !== ALERT)) {
    problems.push('an APNs payload does not carry the alert that was sent')
  }
  if (notifications.some((n) => n.payload['aerogear-push-id'] !== pushId)) {
    problems.push('an APNs payload lacks the push message id')
  }
  const protocol = transport === 'h2' ? 'h2' : 'http/1.1'
  const other = notifications.filter((n) => n.protocol !== protocol).length
  if (other > 0) problems.push(`${other} APNs notifications came over another protocol`)
  const providerTokens = new Set(notifications.map((n) => n.headers.authorization)).size
  if (providerTokens !== 1) problems.push(`${providerTokens} provider tokens, expected 1`)
  if (stats.providerTokens !== 1) {
    problems.push(`the fake accepted ${stats.providerTokens} provider tokens, expected 1`)
  }
  const count = (kind: Kind) => devices.filter((d) => d.kind === kind).length
  const expected: Record<string, number> = {
    '200': count('live') + count('flaky'),
    Unregistered: count('dead'),
    ServiceUnavailable: count('flaky') * FLAKY_FAILURES,
  }
  const answers = Object.entries(stats.answers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([answer, n]) => `${answer} ×${n}`)
    .join(', ')
  const wanted = Object.entries(expected)
    .map(([answer, n]) => `${answer} ×${n}`)
    .join(', ')
  const keys = new Set([...Object.keys(expected), ...Object.keys(stats.answers)])
  if ([...keys].some((k) => (stats.answers[k] ?? 0) !== (expected[k] ?? 0))) {
    problems.push(`the fake APNs answered ${answers}; expected ${wanted}`)
  }
  const unexpected = Unexpected.parse(await control(apnsUrl, 'GET', '/_unexpected'))
  if (unexpected.length > 0) problems.push(`fake APNs got ${unexpected.length} unexpected requests`)
  let how = `${stats.requests} requests over HTTP/1.1 from the fetch transport`
  if (h2Id) {
    const h2 = H2Stats.parse(await control(apnsUrl, 'GET', `/_h2/${h2Id}`))
    if (h2.streams !== stats.requests) {
      problems.push(`${h2.streams} HTTP/2 streams for ${stats.requests} APNs requests`)
    }
    if (h2.resets > 0) problems.push(`${h2.resets} HTTP/2 streams were reset`)
    how =
      `${h2.streams} streams on ${h2.sessions} HTTP/2 connections from Pushgate's own client, ` +
      `up to ${h2.maxInFlight} at once`
  }
  const summary = [
    `fake APNs: ${how}`,
    `fake APNs answered: ${answers}`,
    `provider tokens minted: ${providerTokens}`,
  ].join('\n')
  return { problems, summary }
}

/** Every push the fake Web Push service answered, in order, per subscription. */
async function checkWebPush(base: string, devices: Device[], pushId: string): Promise<string[]> {
  const problems: string[] = []
  for (const device of devices) {
    const endpoint = encodeURIComponent(device.endpoint ?? '')
    const pushes = Deliveries.parse(await control(base, 'GET', `/_deliveries?endpoint=${endpoint}`))
    const statuses = pushes.map((p) => p.status)
    const want: Record<Kind, number[]> = {
      live: [201],
      dead: [410],
      flaky: [...Array<number>(FLAKY_FAILURES).fill(503), 201],
    }
    if (statuses.join() !== want[device.kind].join()) {
      problems.push(
        `web_push ${device.kind} device answered [${statuses}], expected [${want[device.kind]}]`,
      )
    }
    const delivered = pushes.find((p) => p.status === 201)
    const payload = WebPayload.safeParse(delivered?.payload)
    const intact = payload.data?.alert === ALERT && payload.data['aerogear-push-id'] === pushId
    if (delivered && !intact) problems.push('a Web Push payload is not the message that was sent')
  }
  const unexpected = Unexpected.parse(await control(base, 'GET', '/_unexpected'))
  if (unexpected.length > 0)
    problems.push(`fake Web Push got ${unexpected.length} unexpected requests`)
  return problems
}

/**
 * Through the admin installations API: dead devices are gone, the others are kept with the token
 * in its stored form (an iOS token normalised to lower-case hex).
 */
async function checkInstallations(api: Api, variant: Variant, devices: Device[]) {
  const problems: string[] = []
  const left = new Map<string, string>()
  for (let page = 0; ; page++) {
    const path = `/rest/applications/${variant.variantID}/installations?page=${page}&per_page=50`
    const items = z.array(InstallationAnswer).parse(await api.admin('GET', path))
    for (const item of items) left.set(item.id, item.deviceToken)
    if (items.length < 50) break
  }
  for (const device of devices) {
    const kept = left.has(device.installationId)
    if (device.kind === 'dead' && kept) problems.push(`${variant.type}: a dead device was kept`)
    if (device.kind !== 'dead' && !kept) {
      problems.push(`${variant.type}: a ${device.kind} device was pruned`)
    }
    if (kept && variant.type !== 'web_push' && left.get(device.installationId) !== device.token) {
      problems.push(`${variant.type}: a device token was stored in another form`)
    }
  }
  return problems
}

// --- Plumbing -------------------------------------------------------------------------------

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => {
    done ??= fn()
    return done
  }
}

/** The first 16 and the last 8 hex digits of a token, in the spelling it was given. */
function shorten(token: string): string {
  const spaced = token.startsWith('<')
  const hex = token.replace(/[ <>]/g, '')
  if (hex.length <= 24) return token
  const [head, tail] = [hex.slice(0, 16), hex.slice(-8)]
  return spaced ? `<${head.slice(0, 8)} ${head.slice(8)} … ${tail}>` : `${head}…${tail}`
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
