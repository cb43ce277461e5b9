/**
 * The send pipeline end to end: `POST /rest/sender` through the Hono app, the real queue consumer
 * driven by test/pipeline/driver.ts, and the fake push service and fake FCM on the other side.
 * Every test asserts effects: rows in D1, what the fakes received (decrypted and verified by
 * them), the counters, and what went on the queue. The driver checks after every consumer run
 * that `receivers = delivered + failed + invalidTokens + pending` holds for every row.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeliverMessage, PlanMessage } from '../../src/dispatch/messages'
import { fake as fcm, fcmToken, newAccount } from '../fakes/fcm-client'
import type { Delivery } from '../fakes/webpush'
import { basic } from '../helpers'
import { createPipeline, faultyD1, type Pipeline } from './driver'
import {
  type App,
  accepted,
  androidVariant,
  api,
  counters,
  createApp,
  deliveries,
  insertInstallations,
  installationExists,
  iosVariant,
  jobCount,
  jobRow,
  reasons,
  register,
  send,
  subscribe,
  WEB_PUSH_FAKE,
  webPushVariant,
} from './fixtures'

afterEach(async () => {
  // Every request the Worker made hit a route and a device the fakes know.
  expect(await (await fetch(`${WEB_PUSH_FAKE}/_unexpected`)).json()).toEqual([])
  expect(await fcm.unexpected()).toEqual([])
})

const plans = (p: Pipeline) => p.sent.map((s) => s.body).filter(isPlan)
const delivers = (p: Pipeline) => p.sent.map((s) => s.body).filter(isDeliver)

function isPlan(body: unknown): body is PlanMessage {
  return (body as { kind?: string }).kind === 'plan'
}

function isDeliver(body: unknown): body is DeliverMessage {
  return (body as { kind?: string }).kind === 'deliver'
}

/** The FCM messages of one job, by the push id in their data. */
async function fcmMessages(variant: { account: { project_id: string } }, jobId: string) {
  const all = await fcm.messages(variant.account.project_id)
  return all.filter((m) => {
    const message = m.body.message as { data?: Record<string, string> }
    return message.data?.['aerogear-push-id'] === jobId
  })
}

type FcmMessage = { android?: unknown; data?: Record<string, string> }

/** The `message` of a request the fake FCM accepted. */
function fcmBody(recorded: { body: Record<string, unknown> } | undefined): FcmMessage {
  if (!recorded) throw new Error('FCM received nothing')
  return recorded.body.message as FcmMessage
}

async function fcmTokensReached(variant: { account: { project_id: string } }, jobId: string) {
  return (await fcmMessages(variant, jobId)).map((m) => m.token).sort()
}

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength

describe('POST /rest/sender: credentials', () => {
  it('answers the same 401 to a wrong secret, an unknown application and no credentials', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    const message = { message: { alert: 'hi' } }

    const attempts = [
      basic(app.pushApplicationID, 'not-the-secret'),
      basic(crypto.randomUUID(), app.masterSecret),
      `Bearer ${app.masterSecret}`,
      null,
    ]
    for (const auth of attempts) {
      const res = await api(p, 'POST', '/rest/sender', { auth, body: message })
      expect(res.status, String(auth)).toBe(401)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Basic/)
      expect(await res.json()).toEqual({ message: 'Unauthorized Request' })
    }
    expect(await jobCount(app.id)).toBe(0)
    expect(p.sent).toEqual([])
  })

  it('refuses the old master secret once the application is reset', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    await accepted(p, app, { message: { alert: 'before' } })

    const reset = await api(p, 'PUT', `/rest/applications/${app.pushApplicationID}/reset`)
    expect(reset.status).toBe(200)
    const { masterSecret } = await reset.json<{ masterSecret: string }>()
    expect(masterSecret).not.toBe(app.masterSecret)

    const old = await send(p, app, { message: { alert: 'old secret' } })
    expect(old.status).toBe(401)
    await accepted(p, { ...app, masterSecret }, { message: { alert: 'new secret' } })
    expect(await jobCount(app.id)).toBe(2)
  })
})

describe('POST /rest/sender: the answer', () => {
  it('answers 202 {id} with Location, stores the job and queues one plan per variant', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const android = await androidVariant(p, app)

    const res = await send(p, app, { message: { alert: 'hello' } })
    expect(res.status).toBe(202)
    const body = await res.json<{ id: string }>()
    expect(Object.keys(body)).toEqual(['id'])
    expect(res.headers.get('Location')).toBe(`/rest/metrics/messages/${body.id}`)

    const job = await jobRow(body.id)
    expect(job).toMatchObject({ application_id: app.id, status: 'queued', total_receivers: 0 })
    expect(plans(p)).toEqual(
      expect.arrayContaining([
        { kind: 'plan', jobId: body.id, variantId: web.id, cursor: null },
        { kind: 'plan', jobId: body.id, variantId: android.id, cursor: null },
      ]),
    )
    expect(p.sent).toHaveLength(2)
    expect(await counters(body.id, web)).toMatchObject({ receivers: 0, pending: 0, planned: 0 })
    expect(await counters(body.id, android)).toMatchObject({ receivers: 0, pending: 0 })
  })

  const invalid: [string, string, string][] = [
    ['malformed JSON', '{"message": {"alert": "hi"', '(body)'],
    ['an empty body', '', '(body)'],
    ['an unknown top-level field', JSON.stringify({ message: { alert: 'x' }, to: 'all' }), 'to'],
    [
      'an unknown message field',
      JSON.stringify({ message: { alert: 'x', colour: 'red' } }),
      'message.colour',
    ],
    ['an alert that is not a string', JSON.stringify({ message: { alert: 42 } }), 'message.alert'],
    [
      'an alias that is not a list',
      JSON.stringify({ message: { alert: 'x' }, criteria: { alias: 'a@example.com' } }),
      'criteria.alias',
    ],
    [
      'a negative ttl',
      JSON.stringify({ message: { alert: 'x' }, config: { ttl: -1 } }),
      'config.ttl',
    ],
    [
      'a ttl as text',
      JSON.stringify({ message: { alert: 'x' }, config: { ttl: '60' } }),
      'config.ttl',
    ],
    [
      'a priority UPS does not know',
      JSON.stringify({ message: { priority: 'urgent' } }),
      'message.priority',
    ],
    ['no message', JSON.stringify({ criteria: {} }), 'message'],
  ]

  it.each(invalid)(
    'refuses %s with 400 and details, storing and queueing nothing',
    async (_, body, field) => {
      const p = createPipeline()
      const app = await createApp(p)
      await webPushVariant(p, app)
      const res = await send(p, app, body)
      expect(res.status).toBe(400)
      const answer = await res.json<{ message: string; details: Record<string, string> }>()
      expect(answer.message).toBeTypeOf('string')
      expect(Object.keys(answer.details)).toContain(field)
      expect(await jobCount(app.id)).toBe(0)
      expect(p.sent).toEqual([])
    },
  )

  it('refuses a body over 64 KB with 413, storing and queueing nothing', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    const res = await send(p, app, {
      message: { alert: 'big', 'user-data': { blob: 'x'.repeat(70 * 1024) } },
    })
    expect(res.status).toBe(413)
    expect(await jobCount(app.id)).toBe(0)
    expect(p.sent).toEqual([])
  })

  it('refuses a variant of another application and names it; B is never reached (case 14)', async () => {
    const p = createPipeline()
    const a = await createApp(p, 'A')
    const b = await createApp(p, 'B')
    const ownVariant = await webPushVariant(p, a)
    const foreign = await webPushVariant(p, b)
    const subscription = await subscribe()
    await register(p, foreign, subscription)

    for (const variants of [[foreign.variantID], [ownVariant.variantID, foreign.variantID]]) {
      const res = await send(p, a, { message: { alert: 'x' }, criteria: { variants } })
      expect(res.status).toBe(400)
      const answer = await res.json<{ details: Record<string, string> }>()
      expect(answer.details['criteria.variants']).toContain(foreign.variantID)
      expect(answer.details['criteria.variants']).not.toContain(ownVariant.variantID)
    }
    expect(await jobCount(a.id)).toBe(0)
    expect(await jobCount(b.id)).toBe(0)
    expect(p.sent).toEqual([])
    await p.drain()
    expect(await deliveries(subscription.endpoint)).toEqual([])
  })

  it('counts bytes, not characters, against each targeted network before queueing (case 3)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    const android = await androidVariant(p, app)
    const ios = await iosVariant(p, app)
    const emoji = (n: number) => '\u{1F600}'.repeat(n)
    expect(utf8(emoji(1000))).toBe(4000)
    expect(emoji(1000).length).toBe(2000)

    const toAll = await send(p, app, { message: { alert: emoji(1000) } })
    expect(toAll.status).toBe(400)
    const refused = await toAll.json<{ details: Record<string, string> }>()
    expect(Object.keys(refused.details)).toEqual(['message (web_push)'])
    expect(refused.details['message (web_push)']).toContain('3993')

    // 4,000 bytes fit FCM's and APNs' 4,096 with the push id; the Web Push limit is not theirs.
    const mobile = [android.variantID, ios.variantID]
    const fits = await send(p, app, {
      message: { alert: emoji(1000) },
      criteria: { variants: mobile },
    })
    expect(fits.status).toBe(202)
    const fitsId = (await fits.json<{ id: string }>()).id

    for (const [variant, network] of [
      [android, 'android'],
      [ios, 'ios_token'],
    ] as const) {
      const res = await send(p, app, {
        message: { alert: emoji(1030) },
        criteria: { variants: [variant.variantID] },
      })
      expect(res.status).toBe(400)
      const answer = await res.json<{ details: Record<string, string> }>()
      expect(Object.keys(answer.details)).toEqual([`message (${network})`])
      expect(answer.details[`message (${network})`]).toContain('4096')
    }

    // One job (the one that fit), and nothing queued for any refused send.
    expect(await jobCount(app.id)).toBe(1)
    expect(plans(p).map((m) => m.jobId)).toEqual([fitsId, fitsId])
    expect(
      plans(p)
        .map((m) => m.variantId)
        .sort(),
    ).toEqual([android.id, ios.id].sort())
  })

  it('refuses user-data keys that FCM reserves when an android variant is targeted', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    await androidVariant(p, app)
    const userData = { from: 'me', google_x: '1', gcm_y: '2', fine: 'ok' }

    const res = await send(p, app, { message: { alert: 'x', 'user-data': userData } })
    expect(res.status).toBe(400)
    expect((await res.json<{ details: Record<string, string> }>()).details).toEqual({
      'message.user-data.from': 'reserved by FCM',
      'message.user-data.google_x': 'reserved by FCM',
      'message.user-data.gcm_y': 'reserved by FCM',
    })
    expect(await jobCount(app.id)).toBe(0)
    expect(plans(p)).toEqual([])

    // Web Push has no such rule: the same message to the browser variant alone is taken.
    const webOnly = await send(p, app, {
      message: { alert: 'x', 'user-data': userData },
      criteria: { variants: [web.variantID] },
    })
    expect(webOnly.status).toBe(202)
  })

  it('queues one plan per variant even past the 100 messages Queues take per sendBatch', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const variants = []
    for (let i = 0; i < 101; i++) variants.push(await webPushVariant(p, app))

    const res = await send(p, app, { message: { alert: 'to every variant' } })
    expect(res.status).toBe(202)
    const id = (await res.json<{ id: string }>()).id
    expect(plans(p).filter((m) => m.jobId === id)).toHaveLength(101)
    expect(new Set(plans(p).map((m) => m.variantId))).toEqual(new Set(variants.map((v) => v.id)))
  })

  it('returns the first job for a repeated Idempotency-Key and queues nothing again', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    const other = await createApp(p, 'other')
    await webPushVariant(p, other)
    const headers = { 'Idempotency-Key': 'order-4711' }

    const first = await send(p, app, { message: { alert: 'once' } }, headers)
    expect(first.status).toBe(202)
    const { id } = await first.json<{ id: string }>()
    const queued = p.sent.length
    expect(queued).toBe(1)

    const again = await send(p, app, { message: { alert: 'once' } }, headers)
    expect(again.status).toBe(202)
    expect(await again.json()).toEqual({ id })
    expect(again.headers.get('Location')).toBe(`/rest/metrics/messages/${id}`)
    expect(p.sent).toHaveLength(queued)
    expect(await jobCount(app.id)).toBe(1)

    // Keys belong to an application: the same key elsewhere is another job.
    const elsewhere = await send(p, other, { message: { alert: 'once' } }, headers)
    expect(elsewhere.status).toBe(202)
    expect((await elsewhere.json<{ id: string }>()).id).not.toBe(id)
    // Without the key, the same request is a new job.
    expect(await accepted(p, app, { message: { alert: 'once' } })).not.toBe(id)
  })

  it('makes one job of two concurrent requests with the same Idempotency-Key', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    await webPushVariant(p, app)
    const headers = { 'Idempotency-Key': `race-${crypto.randomUUID()}` }

    const answers = await Promise.all(
      [1, 2, 3].map(() => send(p, app, { message: { alert: 'race' } }, headers)),
    )
    const ids = await Promise.all(
      answers.map(async (res) => {
        expect(res.status).toBe(202)
        return (await res.json<{ id: string }>()).id
      }),
    )
    expect(new Set(ids).size).toBe(1)
    expect(await jobCount(app.id)).toBe(1)
    expect(plans(p)).toHaveLength(1)
  })

  it('completes a job whose criteria match nothing with 0 receivers', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    await register(p, web, await subscribe(), { alias: 'someone@example.com' })

    const id = await accepted(p, app, {
      message: { alert: 'nobody' },
      criteria: { alias: ['nobody@example.com'] },
    })
    await p.drain()
    expect(await jobRow(id)).toMatchObject({ status: 'done', total_receivers: 0, payload: null })
    expect(await counters(id, web)).toMatchObject({ receivers: 0, pending: 0, planned: 1 })
    expect(delivers(p)).toEqual([])

    // An application without variants: done at once, nothing queued.
    const empty = await createApp(p, 'no variants')
    const before = p.sent.length
    const none = await accepted(p, empty, { message: { alert: 'void' } })
    expect(await jobRow(none)).toMatchObject({ status: 'done', total_receivers: 0 })
    expect(p.sent).toHaveLength(before)
  })
})

describe('selection', () => {
  it('ORs within a list, ANDs across lists, and skips disabled installations', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const devices = {
      d1: { alias: 'a@example.com', deviceType: 'phone', categories: ['news'] },
      d2: { alias: 'b@example.com', deviceType: 'tablet', categories: ['sports'] },
      d3: { alias: 'c@example.com', deviceType: 'phone', categories: ['news', 'sports'] },
      d4: { alias: 'a@example.com', deviceType: 'phone', categories: ['news'], enabled: false },
      d5: { alias: 'd@example.com', deviceType: 'watch' },
    }
    const tokens: Record<string, string> = {}
    for (const [name, device] of Object.entries(devices)) {
      tokens[name] = fcmToken('ok')
      await register(p, android, tokens[name], device)
    }
    const expectReached = async (criteria: Record<string, string[]>, names: string[]) => {
      const id = await accepted(p, app, { message: { alert: 'pick' }, criteria })
      await p.drain()
      const want = names.map((n) => tokens[n]).sort()
      expect(await fcmTokensReached(android, id), JSON.stringify(criteria)).toEqual(want)
      expect(await counters(id, android)).toMatchObject({
        receivers: names.length,
        delivered: names.length,
        pending: 0,
      })
    }

    await expectReached({ alias: ['a@example.com', 'b@example.com'] }, ['d1', 'd2'])
    await expectReached(
      { alias: ['a@example.com', 'b@example.com', 'c@example.com'], deviceType: ['phone'] },
      ['d1', 'd3'],
    )
    await expectReached({ categories: ['sports', 'cooking'] }, ['d2', 'd3'])
    await expectReached(
      {
        alias: ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'],
        deviceType: ['phone', 'watch'],
        categories: ['news'],
      },
      ['d1', 'd3'],
    )
    await expectReached({}, ['d1', 'd2', 'd3', 'd5'])
    await expectReached({ deviceType: ['fridge'] }, [])
  })

  it('reaches every variant of the application when none is named, and only those named', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const android = await androidVariant(p, app)
    const other = await createApp(p, 'other')
    const otherWeb = await webPushVariant(p, other)
    const subscription = await subscribe()
    const foreign = await subscribe()
    const token = fcmToken('ok')
    await register(p, web, subscription)
    await register(p, android, token)
    await register(p, otherWeb, foreign)

    const everyone = await accepted(p, app, { message: { alert: 'all' } })
    await p.drain()
    expect((await deliveries(subscription.endpoint)).map((d) => pushId(d))).toEqual([everyone])
    expect(await fcmTokensReached(android, everyone)).toEqual([token])

    const onlyAndroid = await accepted(p, app, {
      message: { alert: 'android' },
      criteria: { variants: [android.variantID] },
    })
    await p.drain()
    expect(await fcmTokensReached(android, onlyAndroid)).toEqual([token])
    expect(await deliveries(subscription.endpoint)).toHaveLength(1)
    expect(await counters(onlyAndroid, web)).toBeNull()
    expect(await deliveries(foreign.endpoint)).toEqual([])
  })

  it('pages an audience of more than 1,000 devices and reaches each exactly once', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const count = 1234
    await insertInstallations(android, count, (i) => fcmToken(`ok${i}x`))

    const id = await accepted(p, app, { message: { alert: 'everyone' } })
    // The request queued one plan message, whatever the audience.
    expect(p.sent).toHaveLength(1)
    await p.drain()

    const reached = await fcmTokensReached(android, id)
    expect(reached).toHaveLength(count)
    expect(new Set(reached).size).toBe(count)
    expect(await counters(id, android)).toMatchObject({
      receivers: count,
      delivered: count,
      pending: 0,
      planned: 1,
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done', total_receivers: count })
    // Two plan pages (1,000 then 234) and several deliver messages under Queues' size limit.
    expect(plans(p).filter((m) => m.jobId === id)).toHaveLength(2)
    const batches = delivers(p).filter((m) => m.jobId === id)
    expect(batches.length).toBeGreaterThan(2)
    expect(batches.reduce((n, m) => n + m.targets.length, 0)).toBe(count)
  })

  it('walks an alias list of more than 100 aliases in chunks and reaches each match once', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const tokens = Array.from({ length: 170 }, (_, i) => fcmToken(`ok${i}y`))
    await insertInstallations(
      android,
      tokens.length,
      (i) => tokens[i] ?? '',
      (i) => `user${i}@example.com`,
    )

    // 150 aliases that match, 100 that match nobody, and one repeated.
    const aliases = [
      ...Array.from({ length: 150 }, (_, i) => `user${i}@example.com`),
      ...Array.from({ length: 100 }, (_, i) => `ghost${i}@example.com`),
      'user0@example.com',
    ]
    const id = await accepted(p, app, {
      message: { alert: 'chunks' },
      criteria: { alias: aliases },
    })
    await p.drain()

    const reached = await fcmTokensReached(android, id)
    expect(reached).toEqual(tokens.slice(0, 150).sort())
    expect(await counters(id, android)).toMatchObject({ receivers: 150, delivered: 150 })
  })

  it('selects with the longest category and device type lists the API accepts', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const wanted = fcmToken('ok')
    const unwanted = fcmToken('ok')
    await register(p, android, wanted, { deviceType: 'phone', categories: ['topic-99'] })
    await register(p, android, unwanted, { deviceType: 'phone', categories: ['elsewhere'] })

    const categories = Array.from({ length: 100 }, (_, i) => `topic-${i}`)
    const deviceType = ['phone', ...Array.from({ length: 99 }, (_, i) => `type-${i}`)]
    const aliases = Array.from({ length: 200 }, (_, i) => `nobody${i}@example.com`)
    const id = await accepted(p, app, {
      message: { alert: 'long lists' },
      criteria: { categories, deviceType },
    })
    await p.drain()
    expect(p.deadLettered).toEqual([])
    expect(await fcmTokensReached(android, id)).toEqual([wanted])
    expect(await counters(id, android)).toMatchObject({ receivers: 1, delivered: 1, reason: null })

    const withAliases = await accepted(p, app, {
      message: { alert: 'long lists and aliases' },
      criteria: { categories, deviceType, alias: aliases },
    })
    await p.drain()
    expect(p.deadLettered).toEqual([])
    expect(await counters(withAliases, android)).toMatchObject({ receivers: 0, planned: 1 })
    expect(await jobRow(withAliases)).toMatchObject({ status: 'done' })
  })
})

function pushId(delivery: Delivery): unknown {
  return (delivery.payload as Record<string, unknown> | undefined)?.['aerogear-push-id']
}

describe('delivery through the fake push service', () => {
  it('delivers, prunes, fails and retries each subscription as its answer says', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const subs = {
      ok1: await subscribe('ok'),
      ok2: await subscribe('ok'),
      gone: await subscribe('gone'),
      notfound: await subscribe('notfound'),
      toolarge: await subscribe('toolarge'),
      throttle: await subscribe('throttle'),
      flaky: await subscribe('flaky', { failures: 2 }),
    }
    const ids: Record<string, string> = {}
    for (const [name, sub] of Object.entries(subs)) ids[name] = await register(p, web, sub)

    const userData = { orderId: 42, note: 'ünïcode' }
    const id = await accepted(p, app, {
      message: { alert: 'Your order shipped', priority: 'high', 'user-data': userData },
    })
    await p.drain()

    expect(await counters(id, web)).toMatchObject({
      receivers: 7,
      delivered: 3,
      invalid_tokens: 2,
      failed: 2,
      pending: 0,
      planned: 1,
    })
    expect(await reasons(id, web)).toEqual({
      unsubscribed: 1,
      expired: 1,
      payload_too_large: 1,
      throttled: 1,
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done', payload: null, total_receivers: 7 })

    // Dead subscriptions are deleted, every other one is kept.
    for (const name of ['gone', 'notfound']) {
      expect(await installationExists(ids[name] ?? ''), name).toBe(false)
    }
    for (const name of ['ok1', 'ok2', 'toolarge', 'throttle', 'flaky']) {
      expect(await installationExists(ids[name] ?? ''), name).toBe(true)
    }

    // What each subscription saw: one push, or the retries.
    const seen = async (name: keyof typeof subs) =>
      (await deliveries(subs[name].endpoint)).map((d) => d.status)
    expect(await seen('ok1')).toEqual([201])
    expect(await seen('gone')).toEqual([410])
    expect(await seen('notfound')).toEqual([404])
    expect(await seen('toolarge')).toEqual([413]) // case 9: the same bytes are not sent again
    expect(await seen('flaky')).toEqual([503, 503, 201])
    expect(await seen('throttle')).toEqual([429, 429, 429, 429, 429])

    // Each retry went back on the queue no sooner than the service's Retry-After: 7.
    const retries = delivers(p).filter((m) => m.attempt > 1)
    expect(retries.map((m) => m.attempt)).toEqual([2, 3, 4, 5])
    const retrySent = p.sent.filter((s) => isDeliver(s.body) && s.body.attempt > 1)
    for (const s of retrySent) expect(s.delaySeconds).toBeGreaterThanOrEqual(7)

    // Every payload the service decrypted carries the job id and the message.
    const delivered = (await deliveries(subs.ok1.endpoint))[0]
    expect(delivered?.payload).toEqual({
      alert: 'Your order shipped',
      'user-data': userData,
      'aerogear-push-id': id,
    })
    expect(delivered?.headers.urgency).toBe('high')
    expect(delivered?.headers.ttl).toBe('2419200')
    for (const name of Object.keys(subs) as (keyof typeof subs)[]) {
      for (const d of await deliveries(subs[name].endpoint)) {
        if (d.payload !== undefined) expect(pushId(d), name).toBe(id)
      }
    }
  })

  it('speaks RFC 8291/8292 as the fake checks: one vapid scheme, aud with port, no padding (cases 6, 12, 13)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const sub = await subscribe()
    await register(p, web, sub)

    // A payload of about 200 bytes.
    const id = await accepted(p, app, { message: { alert: 'x'.repeat(130) } })
    await p.drain()
    const [delivery] = await deliveries(sub.endpoint)
    if (!delivery) throw new Error('nothing was delivered')
    expect(delivery.status).toBe(201)

    const plaintext = utf8(JSON.stringify(delivery.payload))
    expect(plaintext).toBe(200)
    // aes128gcm without padding: 86 bytes of header, 1 delimiter, 16 of tag (case 6).
    expect(delivery.bodyBytes).toBe(303)

    // Case 12: aud is the origin with its port and no path; exp at most 24 h ahead.
    const origin = new URL(sub.endpoint).origin
    expect(origin).toMatch(/:\d+$/)
    expect(delivery.claims?.aud).toBe(origin)
    const exp = Number(delivery.claims?.exp)
    expect(exp * 1000).toBeGreaterThan(Date.now())
    expect(exp * 1000 - Date.now()).toBeLessThanOrEqual(24 * 60 * 60 * 1000)
    expect(delivery.claims?.sub).toBe('mailto:ops@example.com')

    // Case 13: exactly one Authorization scheme, no aesgcm headers.
    expect(delivery.headers.authorization).toMatch(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/)
    expect(delivery.headers['content-encoding']).toBe('aes128gcm')
    expect(delivery.headers['crypto-key']).toBeUndefined()
    expect(delivery.headers.encryption).toBeUndefined()
    expect(pushId(delivery)).toBe(id)
  })

  it('reports a VAPID key mismatch as the variant problem and deletes nothing (case 10)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const subs = [await subscribe('mismatch'), await subscribe('mismatch')]
    const ids = [await register(p, web, subs[0]), await register(p, web, subs[1])]
    // Made with the variant's current key: still reached.
    const current = await subscribe('ok')
    await register(p, web, current)

    const id = await accepted(p, app, { message: { alert: 'wrong key' } })
    await p.drain()

    expect(await counters(id, web)).toMatchObject({
      receivers: 3,
      failed: 2,
      invalid_tokens: 0,
      delivered: 1,
      pending: 0,
      reason: 'vapid_rejected',
    })
    expect(await reasons(id, web)).toEqual({ vapid_rejected: 2 })
    for (const installation of ids) expect(await installationExists(installation)).toBe(true)
    // Not retried: the same key would be refused again.
    expect(delivers(p).filter((m) => m.attempt > 1)).toEqual([])
    const refused = (await Promise.all(subs.map((s) => deliveries(s.endpoint)))).flat()
    expect(refused.map((d) => d.status)).toEqual([403, 403])
    expect((await deliveries(current.endpoint)).map((d) => d.status)).toEqual([201])
  })

  it('keeps TTL 0 as TTL: 0 for Web Push and "0s" for FCM (case 5)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const android = await androidVariant(p, app)
    const sub = await subscribe()
    const token = fcmToken('ok')
    await register(p, web, sub)
    await register(p, android, token)

    const id = await accepted(p, app, { message: { alert: 'now or never' }, config: { ttl: 0 } })
    await p.drain()

    const [delivery] = await deliveries(sub.endpoint)
    expect(delivery?.headers.ttl).toBe('0')
    expect(delivery?.headers.urgency).toBe('normal')
    const [message] = await fcmMessages(android, id)
    expect(fcmBody(message).android).toEqual({
      priority: 'NORMAL',
      ttl: '0s',
    })
  })
})

describe('delivery through the fake FCM', () => {
  it('delivers, prunes, fails and retries each token as FCM answers it (case 4)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const tokens = {
      ok1: fcmToken('ok'),
      ok2: fcmToken('ok'),
      unregistered: fcmToken('unregistered'),
      mismatch: fcmToken('mismatch'),
      invalid: fcmToken('invalid'),
      quota: fcmToken('quota'),
      flaky: fcmToken('flaky2'),
    }
    const ids: Record<string, string> = {}
    for (const [name, token] of Object.entries(tokens)) {
      ids[name] = await register(p, android, token)
    }

    const userData = { type: 'chat', id: 21465, flag: true, nested: { a: 1 } }
    const id = await accepted(p, app, {
      message: { alert: 'New message', priority: 'high', 'user-data': userData },
      config: { ttl: 3600 },
    })
    await p.drain()

    expect(await counters(id, android)).toMatchObject({
      receivers: 7,
      delivered: 3,
      invalid_tokens: 3,
      failed: 1,
      pending: 0,
      reason: null,
    })
    expect(await reasons(id, android)).toEqual({
      UNREGISTERED: 1,
      SENDER_ID_MISMATCH: 1,
      INVALID_ARGUMENT: 1,
      QUOTA_EXCEEDED: 1,
    })
    for (const name of ['unregistered', 'mismatch', 'invalid']) {
      expect(await installationExists(ids[name] ?? ''), name).toBe(false)
    }
    for (const name of ['ok1', 'ok2', 'quota', 'flaky']) {
      expect(await installationExists(ids[name] ?? ''), name).toBe(true)
    }

    const received = await fcmMessages(android, id)
    expect(received.map((m) => m.token).sort()).toEqual(
      [tokens.ok1, tokens.ok2, tokens.flaky].sort(),
    )
    // Case 4: every data value a string; Google took it and the token was kept.
    expect(received.find((m) => m.token === tokens.ok1)?.body).toEqual({
      message: {
        token: tokens.ok1,
        notification: { body: 'New message' },
        data: {
          type: 'chat',
          id: '21465',
          flag: 'true',
          nested: '{"a":1}',
          'aerogear-push-id': id,
        },
        android: { priority: 'HIGH', ttl: '3600s' },
      },
    })

    // The quota token was tried five times, each retry no sooner than Retry-After: 17.
    const retried = p.sent.filter((s) => isDeliver(s.body) && s.body.attempt > 1)
    expect(retried.map((s) => (s.body as DeliverMessage).attempt)).toEqual([2, 3, 4, 5])
    for (const s of retried) expect(s.delaySeconds).toBeGreaterThanOrEqual(17)
    const last = retried.at(-1)?.body as DeliverMessage
    expect(last.targets.map((t) => t.token)).toEqual([tokens.quota])
  })

  it('reports a third-party auth error as the variant problem and prunes nothing', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const ids = [
      await register(p, android, fcmToken('thirdparty')),
      await register(p, android, fcmToken('thirdparty')),
    ]
    const id = await accepted(p, app, { message: { alert: 'apns behind fcm' } })
    await p.drain()
    expect(await counters(id, android)).toMatchObject({
      receivers: 2,
      failed: 2,
      invalid_tokens: 0,
      reason: 'THIRD_PARTY_AUTH_ERROR',
    })
    for (const installation of ids) expect(await installationExists(installation)).toBe(true)
  })

  it('prunes nothing on a 404 without FcmError and reports the project (case 7)', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const registered = await newAccount()
    // The fake knows the account, but not the project the variant names.
    const account = { ...registered, project_id: `${registered.project_id}-typo` }
    const android = await androidVariant(p, app, account)
    const ids = [
      await register(p, android, fcmToken('ok')),
      await register(p, android, fcmToken('unregistered')),
    ]

    const id = await accepted(p, app, { message: { alert: 'wrong project' } })
    await p.drain()
    expect(await counters(id, android)).toMatchObject({
      receivers: 2,
      failed: 2,
      invalid_tokens: 0,
      delivered: 0,
      reason: 'project_not_found',
    })
    for (const installation of ids) expect(await installationExists(installation)).toBe(true)
    expect(await fcm.messages(account.project_id)).toEqual([])
  })

  it('keeps user-data out of rawJsonMessage and drops the payload once done', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    await register(p, android, fcmToken('ok'), { alias: 'a@example.com' })
    const secret = `do-not-store-${crypto.randomUUID()}`

    const id = await accepted(p, app, {
      message: { alert: 'Visible', 'user-data': { token: secret } },
      criteria: { alias: ['a@example.com'] },
    })
    const queued = await jobRow(id)
    expect(JSON.parse(queued?.raw_json_message ?? '')).toEqual({
      alert: 'Visible',
      criteria: { alias: ['a@example.com'] },
    })
    expect(queued?.raw_json_message).not.toContain(secret)

    await p.drain()
    const [message] = await fcmMessages(android, id)
    expect(fcmBody(message).data?.token).toBe(secret)
    const done = await jobRow(id)
    expect(done).toMatchObject({ status: 'done', payload: null })
    const answer = await api(p, 'GET', `/rest/metrics/messages/${id}`)
    expect(await answer.text()).not.toContain(secret)
  })
})

describe('accounting under redelivery', () => {
  async function planned(p: Pipeline, app: App, alert: string) {
    const id = await accepted(p, app, { message: { alert } })
    const plan = p.take()
    expect(plan).toHaveLength(1)
    await p.consume(plan)
    return id
  }

  it('applies the same deliver batch once when the consumer gets it twice', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const subs = [await subscribe(), await subscribe(), await subscribe('gone')]
    const ids = []
    for (const s of subs) ids.push(await register(p, web, s))

    const id = await planned(p, app, 'twice')
    const deliver = p.take()
    expect(deliver.map((m) => (m.body as DeliverMessage).kind)).toEqual(['deliver'])
    const batch = p.batchOf('pushgate-push', deliver)

    const first = await p.consume(deliver, batch)
    const second = await p.consume(deliver, batch)
    expect(first.acked).toEqual(deliver.map((m) => m.id))
    expect(second.acked).toEqual(deliver.map((m) => m.id))
    await p.drain()

    expect(await counters(id, web)).toMatchObject({
      receivers: 3,
      delivered: 2,
      invalid_tokens: 1,
      pending: 0,
    })
    expect(await reasons(id, web)).toEqual({ unsubscribed: 1 })
    // The redelivered batch was found applied: nothing was sent again.
    for (const s of subs) expect(await deliveries(s.endpoint)).toHaveLength(1)
    expect(await jobRow(id)).toMatchObject({ status: 'done', total_receivers: 3 })
  })

  it('counts a deliver message once when two copies arrive in one batch', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    for (let i = 0; i < 3; i++) await register(p, android, fcmToken('ok'))

    const id = await planned(p, app, 'copies')
    const [deliver] = p.take()
    if (!deliver) throw new Error('no deliver message')
    const copy = { ...deliver, id: `${deliver.id}-copy` }
    await p.consume([deliver, copy])
    await p.drain()

    expect(await counters(id, android)).toMatchObject({ receivers: 3, delivered: 3, pending: 0 })
    // At least once: a copy running at the same time may reach a device twice, never zero times.
    const reached = await fcmMessages(android, id)
    expect(new Set(reached.map((m) => m.token)).size).toBe(3)
  })

  it('counts receivers once when the same plan message is consumed twice', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    const count = 1005
    await insertInstallations(android, count, (i) => fcmToken(`ok${i}z`))

    const id = await accepted(p, app, { message: { alert: 'plan twice' } })
    const [plan] = p.take()
    if (!plan) throw new Error('no plan message')
    const batch = p.batchOf('pushgate-push', [plan])
    await p.consume([plan], batch)
    const afterFirst = await counters(id, android)
    await p.consume([plan], batch)
    expect(await counters(id, android)).toEqual(afterFirst)
    expect(afterFirst).toMatchObject({ receivers: 1000, pending: 1000, planned: 0 })

    await p.drain()
    expect(await counters(id, android)).toMatchObject({
      receivers: count,
      delivered: count,
      pending: 0,
      planned: 1,
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done', total_receivers: count })
    const reached = await fcmTokensReached(android, id)
    expect(new Set(reached).size).toBe(count)
  })

  it('dead-letters a deliver message that keeps failing and counts its devices as failed', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const subs = [await subscribe(), await subscribe()]
    const ids = []
    for (const s of subs) ids.push(await register(p, web, s))
    // Credentials that no longer open: building the adapter throws on every attempt.
    await env.DB.prepare('UPDATE variants SET credentials_sealed = ? WHERE id = ?')
      .bind('v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAA', web.id)
      .run()

    const id = await accepted(p, app, { message: { alert: 'doomed' } })
    await p.drain()

    expect(p.deadLettered).toHaveLength(1)
    const dead = p.deadLettered[0]
    if (!dead) throw new Error('nothing was dead-lettered')
    expect((dead.body as DeliverMessage).kind).toBe('deliver')
    expect(dead.attempts).toBe(6)
    // Five retries with a growing delay, then the dead-letter queue's consumer acked it.
    const runs = p.steps.filter((s) => s.messages.some((m) => m.body === dead.body))
    expect(runs.map((s) => s.queue)).toEqual([
      ...Array(6).fill('pushgate-push'),
      'pushgate-push-dlq',
    ])
    const delays = runs.slice(0, 5).map((s) => s.retried[0]?.delaySeconds ?? 0)
    for (let i = 1; i < delays.length; i++) {
      expect(delays[i]).toBeGreaterThan(delays[i - 1] ?? 0)
    }
    expect(delays[0]).toBeGreaterThan(0)
    expect(runs.at(-1)?.acked).toHaveLength(1)
    expect(p.dropped).toEqual([])

    expect(await counters(id, web)).toMatchObject({ receivers: 2, failed: 2, pending: 0 })
    expect(await reasons(id, web)).toEqual({ dead_lettered: 2 })
    expect(await jobRow(id)).toMatchObject({ status: 'done' })
    for (const installation of ids) expect(await installationExists(installation)).toBe(true)
    for (const s of subs) expect(await deliveries(s.endpoint)).toEqual([])
  })

  /**
   * A D1 whose transaction applying a first-attempt deliver batch (an id without `/`) fails the
   * first `times` times: the outcome is lost after the retry subset was already queued.
   */
  function failingApply(times: number) {
    let left = times
    return faultyD1(env.DB, (statements) => {
      const applying = statements.some(
        (s) =>
          /^insert into "applied_batches"/i.test(s.sql) &&
          s.params.some((v) => typeof v === 'string' && v.endsWith(':0') && !v.includes('/')),
      )
      if (!applying || left <= 0) return false
      left -= 1
      return true
    })
  }

  it('counts each device once when an outcome fails to apply and the batch comes again', async () => {
    const p = createPipeline({ DB: failingApply(1) })
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const ok = await subscribe('ok')
    const flaky = await subscribe('flaky', { failures: 1 })
    await register(p, web, ok)
    await register(p, web, flaky)

    const id = await accepted(p, app, { message: { alert: 'apply fails once' } })
    await p.drain()

    expect(await counters(id, web)).toMatchObject({
      receivers: 2,
      delivered: 2,
      failed: 0,
      pending: 0,
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done' })
    // Sent at least once (the redelivered batch sends again), counted once.
    expect((await deliveries(ok.endpoint)).filter((d) => d.status === 201).length).toBeGreaterThan(
      0,
    )
    expect(
      (await deliveries(flaky.endpoint)).filter((d) => d.status === 201).length,
    ).toBeGreaterThan(0)
  })

  it('counts each device once when a batch whose outcome never applies is dead-lettered', async () => {
    const p = createPipeline({ DB: failingApply(6) })
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    await register(p, web, await subscribe('ok'))
    await register(p, web, await subscribe('flaky', { failures: 1 }))

    const id = await accepted(p, app, { message: { alert: 'apply always fails' } })
    await p.drain()

    expect(p.deadLettered.map((m) => (m.body as DeliverMessage).attempt)).toContain(1)
    expect(await counters(id, web)).toMatchObject({
      receivers: 2,
      delivered: 0,
      failed: 2,
      pending: 0,
    })
    expect(await reasons(id, web)).toEqual({ dead_lettered: 2 })
    expect(await jobRow(id)).toMatchObject({ status: 'done' })
  })

  /** A D1 that fails the first `times` transactions counting a planned page. */
  function failingPlanCount(times: number) {
    let left = times
    return faultyD1(env.DB, (statements) => {
      const counting = statements.some((s) =>
        /^update "job_variants" set "receivers" = "job_variants"\."receivers" \+/.test(s.sql),
      )
      if (!counting || left <= 0) return false
      left -= 1
      return true
    })
  }

  it('counts nothing for a page whose plan message never managed to count it', async () => {
    const p = createPipeline({ DB: failingPlanCount(6) })
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const sub = await subscribe('ok')
    await register(p, web, sub)

    const id = await accepted(p, app, { message: { alert: 'page never counted' } })
    await p.drain()

    // The plan message died, and so did the batches it queued for the page it never counted.
    expect(p.deadLettered.map((m) => (m.body as PlanMessage).kind)).toContain('plan')
    expect(await deliveries(sub.endpoint)).toEqual([])
    expect(await counters(id, web)).toMatchObject({
      receivers: 0,
      delivered: 0,
      failed: 0,
      pending: 0,
      planned: 1,
      reason: 'planning_failed',
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done', total_receivers: 0 })
  })

  it('counts a page once when counting it failed once and the plan message came again', async () => {
    const p = createPipeline({ DB: failingPlanCount(1) })
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const sub = await subscribe('ok')
    await register(p, web, sub)

    const id = await accepted(p, app, { message: { alert: 'page counted late' } })
    // Each consumer run on its own, so that a reader between any two sees the counters.
    for (let i = 0; i < 50 && p.backlog().length > 0; i++) {
      const oldest = p.backlog()[0]
      await p.consume(p.take((m) => m === oldest))
      const row = await counters(id, web)
      expect(row?.pending ?? 0).toBeGreaterThanOrEqual(0)
      expect(row?.delivered ?? 0).toBeLessThanOrEqual(row?.receivers ?? 0)
    }
    expect(p.backlog()).toEqual([])
    expect(await counters(id, web)).toMatchObject({ receivers: 1, delivered: 1, pending: 0 })
    expect(await jobRow(id)).toMatchObject({ status: 'done' })
    expect((await deliveries(sub.endpoint)).length).toBeGreaterThan(0)
  })

  it('fails loudly when the queue does not settle within the step budget', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    await register(p, web, await subscribe('ok'))
    await accepted(p, app, { message: { alert: 'two steps at least' } })
    await expect(p.drain({ maxSteps: 1 })).rejects.toThrow(/did not settle after 1 consumer runs/)
    await p.drain()
  })

  it('closes a variant whose plan message keeps failing, and completes the job', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const sub = await subscribe()
    await register(p, web, sub)

    const id = await accepted(p, app, { message: { alert: 'unplannable' } })
    // A payload the planner cannot read: every attempt throws.
    await env.DB.prepare('UPDATE push_jobs SET payload = ? WHERE id = ?')
      .bind('{"message":', id)
      .run()
    await p.drain()

    expect(p.deadLettered.map((m) => (m.body as PlanMessage).kind)).toEqual(['plan'])
    expect(await counters(id, web)).toMatchObject({
      receivers: 0,
      pending: 0,
      planned: 1,
      reason: 'planning_failed',
    })
    expect(await jobRow(id)).toMatchObject({ status: 'done' })
    expect(await deliveries(sub.endpoint)).toEqual([])
  })
})
