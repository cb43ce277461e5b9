// The real UPS Node sender from npm (`unifiedpush-node-sender` 0.16.1) against a real `wrangler
// dev` whose push networks are the fakes of test/fakes, run in this process: what a backend
// written for UPS sends must reach the right devices, in the shapes the device SDKs read.
//
// The SDK posts to `<url>/rest/sender/` (trailing slash) with Basic auth and an `aerogear-sender`
// header; it renames `userData` to `user-data` and the camelCase `apns` keys to their dashed
// names, drops empty criteria lists, and passes the rest of the message through as it is.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type FakeFcm, type RecordedMessage, startFakeFcm } from '../fakes/fcm'
import { type Delivery, type FakePushService, startFakePushService } from '../fakes/webpush'
import { type RunningWorker, startWorker } from './wrangler-dev'

type SenderSettings = { url: string; applicationId: string; masterSecret: string }
type SenderClient = {
  sender: {
    send(message: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>
  }
}
// The package ships no types; this is the part of its API the test uses (lib/sender.js).
const agSender = createRequire(import.meta.url)('unifiedpush-node-sender') as (
  settings: SenderSettings,
) => Promise<SenderClient>

const SENDER_HEADER = 'AeroGear Node.js Sender'
const DONE_TIMEOUT_MS = 30_000

const Created = z.object({ variantID: z.string(), secret: z.string() })
const WebVariant = Created.extend({ publicKey: z.string() })
const App = z.object({ pushApplicationID: z.string(), masterSecret: z.string() })
const Installation = z.object({ id: z.string() })
const Subscription = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
})
const Progress = z.object({
  variantID: z.string(),
  type: z.string(),
  receivers: z.number(),
  delivered: z.number(),
  failed: z.number(),
  invalidTokens: z.number(),
  pending: z.number(),
  status: z.string(),
})
const Job = z.object({
  id: z.string(),
  rawJsonMessage: z.string(),
  clientIdentifier: z.string().nullable(),
  totalReceivers: z.number(),
  status: z.string(),
  variants: z.array(Progress),
})
type Job = z.infer<typeof Job>
const SendAnswer = z.object({ id: z.string() })

type Device = { name: string; alias: string; categories: string[]; enabled?: boolean }

const ALICE = 'alice@example.com'
const BOB = 'bob@example.com'
const CAROL = 'carol@example.com'

// Targeted below by alias [alice, carol] AND category [sports]: OR within a list, AND across
// lists, enabled installations only.
const ANDROID: Device[] = [
  { name: 'alice-sports', alias: ALICE, categories: ['sports'] },
  { name: 'carol-news-sports', alias: CAROL, categories: ['news', 'sports'] },
  { name: 'alice-news', alias: ALICE, categories: ['news'] },
  { name: 'bob-sports', alias: BOB, categories: ['sports'] },
  { name: 'carol-disabled', alias: CAROL, categories: ['sports'], enabled: false },
]
const WEB: Device[] = [
  { name: 'alice-sports', alias: ALICE, categories: ['sports'] },
  { name: 'bob-sports', alias: BOB, categories: ['sports'] },
  { name: 'alice-none', alias: ALICE, categories: [] },
]
const MATCHING = new Set(['alice-sports', 'carol-news-sports'])

describe('the UPS Node sender', () => {
  let worker: RunningWorker
  let webPush: FakePushService
  let fcm: FakeFcm
  let app: z.infer<typeof App>
  let project: string
  let android: z.infer<typeof Created>
  let web: z.infer<typeof WebVariant>
  /** Android device name → registration token. */
  const fcmTokens = new Map<string, string>()
  /** Web device name → subscription endpoint. */
  const endpoints = new Map<string, string>()

  beforeAll(async () => {
    ;[webPush, fcm] = await Promise.all([startFakePushService(), startFakeFcm()])
    worker = await startWorker({
      vars: { ALLOW_INSECURE_ENDPOINTS: 'true', FCM_ENDPOINT: fcm.url },
    })

    app = App.parse(await admin('POST', '/rest/applications', { name: 'ups-sender' }))
    const base = `/rest/applications/${app.pushApplicationID}`
    const account = await serviceAccount()
    project = account.project_id
    android = Created.parse(
      await admin('POST', `${base}/android`, { name: 'android', serviceAccount: account }),
    )
    web = WebVariant.parse(
      await admin('POST', `${base}/web_push`, { name: 'web', alias: 'mailto:ops@example.com' }),
    )

    for (const device of ANDROID) {
      const token = `ok-${randomUUID().replaceAll('-', '')}:APA91b${'x'.repeat(120)}`
      fcmTokens.set(device.name, token)
      await registerDevice(android, device, token)
    }
    for (const device of WEB) {
      const subscription = Subscription.parse(
        await fake(webPush.url, 'POST', '/_subscribe', { applicationServerKey: web.publicKey }),
      )
      endpoints.set(device.name, subscription.endpoint)
      await registerDevice(web, device, subscription)
    }
  })

  afterAll(async () => {
    await worker?.stop()
    await Promise.all([webPush?.close(), fcm?.close()])
  })

  it('reaches exactly the devices picked by alias and category, on FCM and Web Push', async () => {
    const client = await agSender({
      url: worker.url,
      applicationId: app.pushApplicationID,
      masterSecret: app.masterSecret,
    })
    const userData = { matchId: 42, score: '2-1', live: true, scorers: ['Ada', 'Grace'] }
    const answer = await client.sender.send(
      {
        alert: 'Goal!',
        priority: 'high',
        sound: 'default',
        badge: '3',
        userData,
        apns: { title: 'Derby', contentAvailable: true },
      },
      {
        criteria: { alias: [ALICE, CAROL], categories: ['sports'], deviceType: [], variants: [] },
        config: { ttl: 600 },
      },
    )
    const { id } = SendAnswer.parse(answer)

    const job = await waitUntilDone(id)
    expect(job.clientIdentifier).toBe(SENDER_HEADER)
    expect(job.status).toBe('done')
    expect(job.totalReceivers).toBe(3)
    expect(progressOf(job, android.variantID)).toEqual({
      variantID: android.variantID,
      type: 'android',
      receivers: 2,
      delivered: 2,
      failed: 0,
      invalidTokens: 0,
      pending: 0,
      status: 'done',
    })
    expect(progressOf(job, web.variantID)).toEqual({
      variantID: web.variantID,
      type: 'web_push',
      receivers: 1,
      delivered: 1,
      failed: 0,
      invalidTokens: 0,
      pending: 0,
      status: 'done',
    })
    const raw = JSON.parse(job.rawJsonMessage)
    expect(raw).toEqual({
      alert: 'Goal!',
      criteria: { alias: [ALICE, CAROL], categories: ['sports'] },
    })

    const messages = await fcmMessages()
    const tokensSent = messages.map((m) => m.token).sort()
    const wanted = ANDROID.filter((d) => MATCHING.has(d.name)).map((d) => fcmTokens.get(d.name))
    expect(tokensSent).toEqual(wanted.sort())
    for (const message of messages) {
      expect(message.body).toEqual({
        message: {
          token: message.token,
          notification: { title: 'Derby', body: 'Goal!' },
          data: {
            matchId: '42',
            score: '2-1',
            live: 'true',
            scorers: '["Ada","Grace"]',
            'aerogear-push-id': id,
          },
          android: {
            priority: 'HIGH',
            ttl: '600s',
            notification: { sound: 'default', notification_count: 3 },
          },
        },
      })
      expect(message.authorization).toMatch(/^Bearer ya29\.fake-/)
    }

    for (const device of WEB) {
      const pushes = await deliveries(device.name)
      if (!MATCHING.has(device.name)) {
        expect(pushes, device.name).toEqual([])
        continue
      }
      expect(pushes).toHaveLength(1)
      const [push] = pushes
      expect(push?.status).toBe(201)
      expect(push?.headers).toMatchObject({ ttl: '600', urgency: 'high' })
      expect(push?.payload).toEqual({
        alert: 'Goal!',
        title: 'Derby',
        sound: 'default',
        badge: 3,
        'user-data': userData,
        'aerogear-push-id': id,
      })
    }

    expect(await fake(fcm.url, 'GET', '/_unexpected')).toEqual([])
    expect(await fake(webPush.url, 'GET', '/_unexpected')).toEqual([])
  })

  it('accepts every message field the SDK documents, its retired platforms included', async () => {
    const client = await agSender({
      url: worker.url,
      applicationId: app.pushApplicationID,
      masterSecret: app.masterSecret,
    })
    // Every key of lib/sender.js's documentation. `windows` and `simplePush` name platforms
    // Pushgate does not serve; the SDK sends `simplePush` in camelCase, unlike `user-data`.
    const message = {
      alert: 'Everything',
      priority: 'normal',
      sound: 'ping.caf',
      badge: '1',
      userData: { k: 'v' },
      apns: {
        title: 'All',
        action: 'Open',
        actionCategory: 'reply',
        contentAvailable: true,
        urlArgs: ['inbox'],
        titleLocKey: 'TITLE',
        titleLocArgs: ['x'],
      },
      windows: {
        type: 'toast',
        duration: 'short',
        badge: 'alert',
        tileType: 'TileSquareText02',
        images: [],
        textFields: ['hello'],
      },
      simplePush: 'version=1',
    }
    const fcmBefore = (await fcmMessages()).length
    const answer = await client.sender.send(message, {
      criteria: { alias: ['nobody@example.com'] },
    })
    const job = await waitUntilDone(SendAnswer.parse(answer).id)
    expect(job.totalReceivers).toBe(0)
    expect(job.variants.map((v) => [v.type, v.receivers, v.status]).sort()).toEqual([
      ['android', 0, 'done'],
      ['web_push', 0, 'done'],
    ])
    expect(await fcmMessages()).toHaveLength(fcmBefore)
  })

  it('is refused with the same 401 for a wrong master secret, which the SDK rejects', async () => {
    const client = await agSender({
      url: worker.url,
      applicationId: app.pushApplicationID,
      masterSecret: 'not-the-secret',
    })
    await expect(client.sender.send({ alert: 'nope' })).rejects.toThrow(
      'UPS request returned status code: 401',
    )
  })

  async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
    return call(method, path, `Bearer ${worker.adminToken}`, body)
  }

  async function registerDevice(
    variant: z.infer<typeof Created>,
    device: Device,
    deviceToken: unknown,
  ) {
    const basic = Buffer.from(`${variant.variantID}:${variant.secret}`).toString('base64')
    const stored = await call('POST', '/rest/registry/device', `Basic ${basic}`, {
      deviceToken,
      alias: device.alias,
      categories: device.categories,
      ...(device.enabled === false && { enabled: false }),
    })
    return Installation.parse(stored)
  }

  async function call(method: string, path: string, authorization: string, body?: unknown) {
    const res = await fetch(`${worker.url}${path}`, {
      method,
      headers: {
        authorization,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }

  async function waitUntilDone(id: string): Promise<Job> {
    const deadline = Date.now() + DONE_TIMEOUT_MS
    for (;;) {
      const job = Job.parse(await admin('GET', `/rest/metrics/messages/${id}`))
      const done = job.variants.length > 0 && job.variants.every((v) => v.status === 'done')
      if (done || Date.now() > deadline) return job
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  function progressOf(job: Job, variantID: string) {
    return job.variants.find((v) => v.variantID === variantID)
  }

  async function fcmMessages(): Promise<RecordedMessage[]> {
    return (await fake(fcm.url, 'GET', `/_messages?project=${project}`)) as RecordedMessage[]
  }

  async function deliveries(name: string): Promise<Delivery[]> {
    const endpoint = encodeURIComponent(endpoints.get(name) ?? '')
    return (await fake(webPush.url, 'GET', `/_deliveries?endpoint=${endpoint}`)) as Delivery[]
  }

  /** A service-account key file as Google hands it out, for a key the fake FCM knows. */
  async function serviceAccount() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    })
    const projectId = `ups-sender-${randomBytes(3).toString('hex')}`
    const clientEmail = `sender@${projectId}.iam.gserviceaccount.com`
    const keyId = randomBytes(20).toString('hex')
    await fake(fcm.url, 'POST', '/_accounts', {
      client_email: clientEmail,
      project_id: projectId,
      public_key: publicKey,
      key_id: keyId,
    })
    return {
      type: 'service_account',
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey,
      client_email: clientEmail,
      token_uri: `${fcm.url}/token`,
    }
  }
})

async function fake(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`fake ${method} ${path}: ${res.status}`)
  return res.status === 204 ? undefined : res.json()
}
