/**
 * The metrics API over jobs the real pipeline ran (test/pipeline/driver.ts): per-variant progress
 * while a job is planned and delivered, an application's jobs with their totals, the dashboard,
 * and the "app opened" counter devices report through the registry.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { fcmToken } from '../fakes/fcm-client'
import { basic } from '../helpers'
import { createPipeline, type Pipeline } from './driver'
import {
  type App,
  accepted,
  androidVariant,
  api,
  createApp,
  register,
  send,
  subscribe,
  type Variant,
  webPushVariant,
} from './fixtures'

type VariantProgress = {
  variantID: string
  receivers: number
  delivered: number
  failed: number
  invalidTokens: number
  pending: number
  status: string
  reason: string | null
}

type Job = {
  id: string
  pushApplicationId: string
  rawJsonMessage: string
  ipAddress: string | null
  clientIdentifier: string | null
  submitDate: number
  appOpenCounter: number
  firstOpenDate: number | null
  lastOpenDate: number | null
  totalReceivers: number
  status: string
  variants: VariantProgress[]
}

async function getJob(p: Pipeline, id: string): Promise<Job> {
  const res = await api(p, 'GET', `/rest/metrics/messages/${id}`)
  expect(res.status).toBe(200)
  return res.json()
}

function progressOf(job: Job, variant: Variant): VariantProgress {
  const found = job.variants.find((v) => v.variantID === variant.variantID)
  if (!found) throw new Error(`variant ${variant.variantID} is not in the job`)
  return found
}

function expectBalanced(job: Job) {
  for (const v of job.variants) {
    expect(v.receivers, v.variantID).toBe(v.delivered + v.failed + v.invalidTokens + v.pending)
  }
  expect(job.totalReceivers).toBe(job.variants.reduce((n, v) => n + v.receivers, 0))
}

/** Lets the clock move on, so that jobs sent one after the other have distinct submit dates. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('GET /rest/metrics/messages/{id}', () => {
  it('shows each variant progress from queued to done', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const android = await androidVariant(p, app)
    await register(p, web, await subscribe('ok'))
    await register(p, web, await subscribe('gone'))
    await register(p, android, fcmToken('ok'))
    await register(p, android, fcmToken('flaky1'))

    const res = await send(
      p,
      app,
      { message: { alert: 'Progress', 'user-data': { hidden: 'yes' } } },
      { 'CF-Connecting-IP': '203.0.113.7', 'aerogear-sender': 'pushgate-tests' },
    )
    expect(res.status).toBe(202)
    const { id } = await res.json<{ id: string }>()

    const queued = await getJob(p, id)
    expect(queued).toMatchObject({
      id,
      pushApplicationId: app.pushApplicationID,
      ipAddress: '203.0.113.7',
      clientIdentifier: 'pushgate-tests',
      appOpenCounter: 0,
      firstOpenDate: null,
      totalReceivers: 0,
      status: 'queued',
    })
    expect(JSON.parse(queued.rawJsonMessage)).toEqual({ alert: 'Progress', criteria: {} })
    expect(queued.variants.map((v) => v.variantID).sort()).toEqual(
      [web.variantID, android.variantID].sort(),
    )
    for (const v of queued.variants) {
      expect(v).toMatchObject({ receivers: 0, pending: 0, status: 'sending' })
    }

    // One consumer run plans both variants: every device is counted and pending.
    await p.step()
    const planned = await getJob(p, id)
    expect(planned).toMatchObject({ status: 'sending', totalReceivers: 4 })
    for (const v of planned.variants) {
      expect(v).toMatchObject({ receivers: 2, pending: 2, delivered: 0, status: 'sending' })
    }
    expectBalanced(planned)

    await p.drain({
      afterStep: async () => expectBalanced(await getJob(p, id)),
    })
    const done = await getJob(p, id)
    expect(done).toMatchObject({ status: 'done', totalReceivers: 4 })
    expect(progressOf(done, web)).toMatchObject({
      receivers: 2,
      delivered: 1,
      invalidTokens: 1,
      failed: 0,
      pending: 0,
      status: 'done',
      reason: null,
    })
    expect(progressOf(done, android)).toMatchObject({
      receivers: 2,
      delivered: 2,
      invalidTokens: 0,
      failed: 0,
      pending: 0,
      status: 'done',
    })
    expect(JSON.stringify(done)).not.toContain('hidden')
  })

  it('answers 404 for an unknown message', async () => {
    const p = createPipeline()
    const res = await api(p, 'GET', `/rest/metrics/messages/${crypto.randomUUID()}`)
    expect(res.status).toBe(404)
  })
})

describe('GET /rest/metrics/messages/application/{pushAppID}', () => {
  it('lists jobs newest first, pages them, searches them and totals them in headers', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const android = await androidVariant(p, app)
    await register(p, android, fcmToken('ok'))
    await register(p, android, fcmToken('ok'))
    const other = await createApp(p, 'other')
    await androidVariant(p, other)
    const elsewhere = await accepted(p, other, { message: { alert: 'Elsewhere news' } })

    const ids: Record<string, string> = {}
    for (const alert of ['Alpha news', 'Beta sports', 'Gamma news']) {
      await tick()
      ids[alert] = await accepted(p, app, { message: { alert } })
    }
    await tick()
    const needle = `needle-${crypto.randomUUID()}`
    ids.Delta = await accepted(p, app, {
      message: { alert: 'Delta', 'user-data': { note: needle } },
      criteria: { alias: ['nobody@example.com'] },
    })
    await p.drain()
    for (let i = 0; i < 2; i++) await open(p, android, ids['Beta sports'] ?? '')

    const list = async (query: string) => {
      const res = await api(
        p,
        'GET',
        `/rest/metrics/messages/application/${app.pushApplicationID}${query}`,
      )
      expect(res.status).toBe(200)
      const jobs = await res.json<Job[]>()
      return {
        ids: jobs.map((j) => j.id),
        jobs,
        total: res.headers.get('total'),
        receivers: res.headers.get('receivers'),
        opened: res.headers.get('appOpenedCounter'),
      }
    }
    const newestFirst = [ids.Delta, ids['Gamma news'], ids['Beta sports'], ids['Alpha news']]

    const all = await list('?sort=desc')
    expect(all.ids).toEqual(newestFirst)
    expect(all.ids).not.toContain(elsewhere)
    expect(all).toMatchObject({ total: '4', receivers: '6', opened: '2' })
    const beta = all.jobs.find((j) => j.id === ids['Beta sports'])
    expect(beta).toMatchObject({ appOpenCounter: 2, totalReceivers: 2, status: 'done' })
    expect(beta?.variants).toEqual([
      expect.objectContaining({ variantID: android.variantID, delivered: 2, status: 'done' }),
    ])

    expect((await list('?sort=asc')).ids).toEqual([...newestFirst].reverse())
    const first = await list('?sort=desc&per_page=3&page=0')
    expect(first).toMatchObject({ ids: newestFirst.slice(0, 3), total: '4' })
    expect((await list('?sort=desc&per_page=3&page=1')).ids).toEqual(newestFirst.slice(3))

    const news = await list('?sort=desc&search=NEWS')
    expect(news).toMatchObject({
      ids: [ids['Gamma news'], ids['Alpha news']],
      total: '2',
      receivers: '4',
      opened: '0',
    })
    // Only the alert and the criteria are stored for display: user-data is not searchable.
    expect(await list(`?search=${needle}`)).toMatchObject({ ids: [], total: '0' })
    expect((await list('?search=nobody@example.com')).ids).toEqual([ids.Delta])
  })

  it('answers 404 for an unknown application', async () => {
    const p = createPipeline()
    const res = await api(p, 'GET', `/rest/metrics/messages/application/${crypto.randomUUID()}`)
    expect(res.status).toBe(404)
  })
})

async function open(p: Pipeline, variant: Variant, id: string) {
  return api(p, 'PUT', `/rest/registry/device/pushMessage/${id}`, {
    auth: basic(variant.variantID, variant.secret),
  })
}

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>()
  return row?.n ?? 0
}

describe('the dashboard', () => {
  it('totals applications, devices and messages', async () => {
    const p = createPipeline()
    const read = async () => {
      const res = await api(p, 'GET', '/rest/metrics/dashboard')
      expect(res.status).toBe(200)
      return res.json<{ applications: number; devices: number; messages: number }>()
    }
    const before = await read()
    expect(before).toEqual({
      applications: await count('applications'),
      devices: await count('installations'),
      messages: await count('push_jobs'),
    })

    const app = await createApp(p)
    const android = await androidVariant(p, app)
    await register(p, android, fcmToken('ok'))
    await accepted(p, app, { message: { alert: 'count me' } })
    expect(await read()).toEqual({
      applications: before.applications + 1,
      devices: before.devices + 1,
      messages: before.messages + 1,
    })
  })

  it('warns about variants whose recent jobs had failures, and only those', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    const android = await androidVariant(p, app)
    await register(p, web, await subscribe('mismatch'))
    await register(p, web, await subscribe('toolarge'))
    await register(p, android, fcmToken('ok'))
    await register(p, android, fcmToken('unregistered'))
    await accepted(p, app, { message: { alert: 'some fail' } })
    await p.drain()

    const res = await api(p, 'GET', '/rest/metrics/dashboard/warnings')
    expect(res.status).toBe(200)
    const warnings = await res.json<Record<string, unknown>[]>()
    const mine = warnings.filter((w) => w.pushApplicationID === app.pushApplicationID)
    // A pruned token is not a failure; the VAPID refusal and the 413 are.
    expect(mine).toEqual([
      expect.objectContaining({
        variantID: web.variantID,
        type: 'web_push',
        failed: 2,
        lastReason: 'vapid_rejected',
      }),
    ])
  })

  it('names the most frequent failure reason of a variant that had no variant problem', async () => {
    const p = createPipeline()
    const app = await createApp(p)
    const web = await webPushVariant(p, app)
    await register(p, web, await subscribe('toolarge'))
    await register(p, web, await subscribe('toolarge'))
    await accepted(p, app, { message: { alert: 'too large, says the fake' } })
    await p.drain()

    const warnings = await api(p, 'GET', '/rest/metrics/dashboard/warnings').then((r) =>
      r.json<Record<string, unknown>[]>(),
    )
    const mine = warnings.filter((w) => w.pushApplicationID === app.pushApplicationID)
    expect(mine).toEqual([expect.objectContaining({ failed: 2, lastReason: 'payload_too_large' })])
  })

  it('shows the latest jobs, as many as asked', async () => {
    const p = createPipeline()
    const app = await createApp(p, 'Active app')
    await androidVariant(p, app)
    const ids: string[] = []
    for (const alert of ['one', 'two', 'three']) {
      await tick()
      ids.push(await accepted(p, app, { message: { alert } }))
    }

    const res = await api(p, 'GET', '/rest/metrics/dashboard/active?count=2')
    expect(res.status).toBe(200)
    const active = await res.json<(Job & { applicationName: string })[]>()
    expect(active.map((j) => j.id)).toEqual([ids[2], ids[1]])
    expect(active[0]).toMatchObject({
      applicationName: 'Active app',
      pushApplicationId: app.pushApplicationID,
    })

    const fallback = await api(p, 'GET', '/rest/metrics/dashboard/active')
    expect((await fallback.json<Job[]>()).map((j) => j.id)).toEqual([ids[2], ids[1], ids[0]])
    expect((await api(p, 'GET', '/rest/metrics/dashboard/active?count=0')).status).toBe(400)
  })
})

describe('PUT /rest/registry/device/pushMessage/{id}', () => {
  async function twoApps(p: Pipeline) {
    const a = await createApp(p, 'A')
    const b = await createApp(p, 'B')
    const variantA = await androidVariant(p, a)
    const variantB = await androidVariant(p, b)
    return { a, b, variantA, variantB }
  }

  it('counts an app opened for a message of the variant application', async () => {
    const p = createPipeline()
    const { a, variantA } = await twoApps(p)
    const id = await accepted(p, a, { message: { alert: 'open me' } })

    const first = await open(p, variantA, id)
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({})
    await tick()
    expect((await open(p, variantA, id)).status).toBe(200)

    const job = await getJob(p, id)
    expect(job.appOpenCounter).toBe(2)
    expect(job.firstOpenDate).toBeTypeOf('number')
    expect(job.lastOpenDate).toBeGreaterThan(job.firstOpenDate ?? Number.POSITIVE_INFINITY)
  })

  it('answers 404 for a message of another application, and counts nothing', async () => {
    const p = createPipeline()
    const { b, variantA, variantB } = await twoApps(p)
    const id = await accepted(p, b, { message: { alert: 'not yours' } })

    const res = await open(p, variantA, id)
    expect(res.status).toBe(404)
    expect((await open(p, variantA, crypto.randomUUID())).status).toBe(404)
    expect((await getJob(p, id)).appOpenCounter).toBe(0)

    const wrongSecret = await api(p, 'PUT', `/rest/registry/device/pushMessage/${id}`, {
      auth: basic(variantB.variantID, 'not-the-secret'),
    })
    expect(wrongSecret.status).toBe(401)
    expect((await getJob(p, id)).appOpenCounter).toBe(0)
  })
})

describe('metrics need the admin bearer', () => {
  it('answers 401 without it, whatever else is presented', async () => {
    const p = createPipeline()
    const app: App = await createApp(p)
    await webPushVariant(p, app)
    const id = await accepted(p, app, { message: { alert: 'private' } })
    const paths = [
      `/rest/metrics/messages/${id}`,
      `/rest/metrics/messages/application/${app.pushApplicationID}`,
      '/rest/metrics/dashboard',
      '/rest/metrics/dashboard/warnings',
      '/rest/metrics/dashboard/active?count=3',
    ]
    for (const path of paths) {
      for (const auth of [
        null,
        'Bearer not-the-token',
        basic(app.pushApplicationID, app.masterSecret),
      ]) {
        const res = await api(p, 'GET', path, { auth })
        expect(res.status, `${path} ${auth}`).toBe(401)
        expect(await res.json()).toEqual({ message: 'Unauthorized Request' })
      }
    }
  })
})
