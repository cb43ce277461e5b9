/**
 * `/rest/applications` through the Worker's fetch handler, with the rows each call leaves in D1.
 * D1 state persists between the tests of this file, so every test makes its own applications
 * and counts only what it made; the paging test measures the table first.
 */
import { env } from 'cloudflare:workers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic } from '../helpers'
import {
  appleId,
  countIn,
  countRows,
  deviceToken,
  installationIds,
  type Json,
  privatePem,
  recorder,
  registerDevice,
  row,
  serviceAccount,
  sha256Hex,
  storedPrivateKey,
  storedVariant,
} from './admin-fixtures'

const { api, secret, leaks, count } = recorder()

type Variant = { id: string; variantID: string; secret: string; type: string }
type App = {
  id: string
  pushApplicationID: string
  masterSecret: string
  name: string
  description: string | null
  variants: Variant[]
}

const MASK = '********'
let apnsKey = ''
let fcmKey = ''

beforeAll(async () => {
  apnsKey = await privatePem('ES256')
  fcmKey = await privatePem('RS256')
  secret(apnsKey)
  secret(fcmKey)
})

afterAll(() => {
  expect(count()).toBeGreaterThan(0)
  expect(leaks()).toEqual([])
})

async function createApp(body: Json = {}): Promise<App> {
  const created = await api('POST', '/rest/applications', {
    body: { name: 'app', ...body },
    reveals: 'masterSecret',
  })
  expect(created.status).toBe(201)
  return created.body as unknown as App
}

const variantBodies: Record<string, () => Json> = {
  android: () => ({ name: 'droid', serviceAccount: serviceAccount(fcmKey) }),
  ios_token: () => ({
    name: 'phone',
    privateKey: apnsKey,
    keyId: appleId(),
    teamId: appleId(),
    bundleId: 'com.example.app',
  }),
  web_push: () => ({ name: 'browser', alias: 'mailto:ops@example.com' }),
}

async function createVariant(app: App, type: string): Promise<Variant> {
  const path = `/rest/applications/${app.pushApplicationID}/${type}`
  const created = await api('POST', path, { body: variantBodies[type]?.() })
  expect(created.status).toBe(201)
  const variant = created.body as unknown as Variant
  // Server-made VAPID keys are secrets too: read them back so the leak check knows them.
  const stored = await storedVariant(variant.id)
  if (stored) secret(storedPrivateKey(stored.credentials))
  return variant
}

async function register(variant: Variant, times = 1) {
  for (let i = 0; i < times; i++) {
    const registered = await registerDevice(api, variant)
    expect(registered.status).toBe(200)
  }
}

async function insertJob(app: App, variants: Variant[]) {
  const jobId = crypto.randomUUID()
  await env.DB.prepare(
    `INSERT INTO push_jobs (id, application_id, raw_json_message, submit_date)
     VALUES (?, ?, '{}', ?)`,
  )
    .bind(jobId, app.id, Date.now())
    .run()
  for (const v of variants) {
    await env.DB.prepare(
      'INSERT INTO job_variants (job_id, variant_id, updated_at) VALUES (?, ?, ?)',
    )
      .bind(jobId, v.id, Date.now())
      .run()
  }
}

const appRow = (app: App) => row('SELECT * FROM applications WHERE id = ?', app.id)
const appCount = () => countRows('SELECT count(*) AS n FROM applications')

/** `Link` as a map from rel to the `page` and `per_page` of its URL. */
function links(header: string | null) {
  const found: Record<string, { page: string | null; perPage: string | null; path: string }> = {}
  for (const part of (header ?? '').split(',')) {
    const match = /<([^>]+)>;\s*rel="([a-z]+)"/.exec(part.trim())
    if (!match?.[1] || !match[2]) continue
    const url = new URL(match[1], 'https://pushgate.test')
    found[match[2]] = {
      page: url.searchParams.get('page'),
      perPage: url.searchParams.get('per_page'),
      path: url.pathname,
    }
  }
  return found
}

describe('POST /rest/applications', () => {
  it('creates an application, shows its master secret once and stores only its hash', async () => {
    const created = await api('POST', '/rest/applications', {
      body: { name: 'Shop', description: 'the shop app' },
      reveals: 'masterSecret',
    })
    expect(created.status).toBe(201)
    const app = created.body as unknown as App
    expect(app).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      pushApplicationID: expect.any(String),
      masterSecret: expect.any(String),
      name: 'Shop',
      description: 'the shop app',
      developer: 'admin',
      variants: [],
    })
    expect(app.masterSecret).not.toBe(MASK)
    expect(app.masterSecret.length).toBeGreaterThanOrEqual(32)
    expect(created.headers.get('Location')).toBe(`/rest/applications/${app.pushApplicationID}`)

    const stored = await appRow(app)
    expect(stored?.push_application_id).toBe(app.pushApplicationID)
    expect(stored?.master_secret_hash).toBe(await sha256Hex(app.masterSecret))
    expect(JSON.stringify(stored)).not.toContain(app.masterSecret)

    const fetched = await api('GET', String(created.headers.get('Location')))
    expect(fetched.status).toBe(200)
    expect(fetched.body).toEqual({ ...app, masterSecret: MASK })
  })

  it('honours a given pushApplicationID and masterSecret', async () => {
    const pushApplicationID = `given-${crypto.randomUUID()}`
    const masterSecret = `given-secret-${crypto.randomUUID()}`
    const app = await createApp({ pushApplicationID, masterSecret, name: 'Given' })
    expect(app.pushApplicationID).toBe(pushApplicationID)
    expect(app.masterSecret).toBe(masterSecret)
    const stored = await appRow(app)
    expect(stored?.master_secret_hash).toBe(await sha256Hex(masterSecret))
  })

  it('answers 409 for a pushApplicationID that exists, keeping the first one', async () => {
    const pushApplicationID = `dup-${crypto.randomUUID()}`
    const first = await createApp({ pushApplicationID, name: 'First' })
    const before = await appRow(first)

    const again = await api('POST', '/rest/applications', {
      body: { name: 'Second', pushApplicationID, masterSecret: 'another-secret-of-16+' },
    })
    expect(again.status).toBe(409)
    expect(again.body.details).toHaveProperty('pushApplicationID')
    expect(await appRow(first)).toEqual(before)
    const same = 'SELECT count(*) AS n FROM applications WHERE push_application_id = ?'
    expect(await countRows(same, pushApplicationID)).toBe(1)
  })

  const invalid: [string, unknown, string][] = [
    ['malformed JSON', '{"name": "x"', '(body)'],
    ['an empty body', '', '(body)'],
    ['an array', [{ name: 'x' }], '(body)'],
    ['an unknown field', { name: 'x', colour: 'red' }, 'colour'],
    ['a name of the wrong type', { name: 42 }, 'name'],
    ['no name', { description: 'nameless' }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a short master secret', { name: 'x', masterSecret: 'short' }, 'masterSecret'],
    [
      'a pushApplicationID with a slash',
      { name: 'x', pushApplicationID: 'a/b' },
      'pushApplicationID',
    ],
  ]
  for (const [what, body, field] of invalid) {
    it(`refuses ${what} with 400 naming ${field}, and writes nothing`, async () => {
      const before = await appCount()
      const refused = await api('POST', '/rest/applications', { body })
      expect(refused.status).toBe(400)
      expect(refused.body.details).toHaveProperty([field])
      expect(await appCount()).toBe(before)
    })
  }

  it('refuses a body over 64 KB with 413, and reads one just under it', async () => {
    const before = await appCount()
    const big = { name: 'big', description: 'x'.repeat(64 * 1024) }
    const tooLarge = await api('POST', '/rest/applications', { body: big })
    expect(tooLarge.status).toBe(413)
    expect(await appCount()).toBe(before)

    // Under the limit the body is read and judged on its fields: a 400, not a 413.
    const under = { name: 'big', padding: 'x'.repeat(60 * 1024) }
    const judged = await api('POST', '/rest/applications', { body: under })
    expect(judged.status).toBe(400)
    expect(judged.body.details).toHaveProperty('padding')
    expect(await appCount()).toBe(before)
  })
})

describe('GET /rest/applications', () => {
  it('pages with per_page clamped to 25, a total header and Link rels', async () => {
    const before = await appCount()
    const made = new Set<string>()
    for (let i = 0; i < 27; i++)
      made.add((await createApp({ name: `page-${i}` })).pushApplicationID)
    const total = before + 27
    const last = Math.ceil(total / 25) - 1

    const first = await api('GET', '/rest/applications?page=0&per_page=100')
    expect(first.status).toBe(200)
    expect(first.headers.get('total')).toBe(String(total))
    expect(first.body).toHaveLength(25)
    const rels = links(first.headers.get('Link'))
    expect(rels.first).toEqual({ page: '0', perPage: '25', path: '/rest/applications' })
    expect(rels.next).toEqual({ page: '1', perPage: '25', path: '/rest/applications' })
    expect(rels.last).toEqual({ page: String(last), perPage: '25', path: '/rest/applications' })
    expect(rels.prev).toBeUndefined()

    // Every application appears on exactly one page.
    const seen: string[] = []
    for (let page = 0; page <= last; page++) {
      const listed = await api('GET', `/rest/applications?page=${page}&per_page=25`)
      expect(listed.headers.get('total')).toBe(String(total))
      expect(listed.items.length).toBe(page < last ? 25 : total - 25 * last)
      seen.push(...listed.items.map((a) => String(a.pushApplicationID)))
    }
    expect(new Set(seen).size).toBe(total)
    for (const id of made) expect(seen).toContain(id)

    const beyond = await api('GET', `/rest/applications?page=${last + 1}&per_page=25`)
    expect(beyond.status).toBe(200)
    expect(beyond.body).toEqual([])
    expect(beyond.headers.get('total')).toBe(String(total))
    const beyondRels = links(beyond.headers.get('Link'))
    expect(beyondRels.prev?.page).toBe(String(last))
    expect(beyondRels.next).toBeUndefined()

    const middle = links(
      (await api('GET', '/rest/applications?page=1&per_page=10')).headers.get('Link'),
    )
    expect(middle.prev).toEqual({ page: '0', perPage: '10', path: '/rest/applications' })
    expect(middle.next).toEqual({ page: '2', perPage: '10', path: '/rest/applications' })
    expect(middle.last?.page).toBe(String(Math.ceil(total / 10) - 1))
  })

  it('masks every master secret and lists each application with its variants', async () => {
    const app = await createApp({ name: 'listed' })
    const variant = await createVariant(app, 'web_push')
    let found: Json | undefined
    for (let page = 0; !found; page++) {
      const listed = await api('GET', `/rest/applications?page=${page}&per_page=25`)
      expect(listed.items.length).toBeGreaterThan(0)
      for (const a of listed.items) expect(a.masterSecret).toBe(MASK)
      found = listed.items.find((a) => a.pushApplicationID === app.pushApplicationID)
    }
    expect(found).toEqual({
      ...app,
      masterSecret: MASK,
      variants: [expect.objectContaining({ variantID: variant.variantID, type: 'web_push' })],
    })
  })

  const badQueries: [string, string][] = [
    ['per_page=0', 'per_page'],
    ['per_page=many', 'per_page'],
    ['page=-1', 'page'],
    ['includeDeviceCount=yes', 'includeDeviceCount'],
  ]
  for (const [query, field] of badQueries) {
    it(`refuses ?${query} with 400 naming ${field}`, async () => {
      const refused = await api('GET', `/rest/applications?${query}`)
      expect(refused.status).toBe(400)
      expect(refused.body.details).toHaveProperty([field])
    })
  }
})

describe('device count and activity headers', () => {
  async function appWithTraffic() {
    const app = await createApp({ name: 'counted' })
    const droid = await createVariant(app, 'android')
    const web = await createVariant(app, 'web_push')
    await register(droid, 2)
    await register(web, 1)
    await insertJob(app, [droid, web])
    await insertJob(app, [droid])
    await insertJob(app, [])
    return { app, droid, web }
  }

  function expectCounts(
    headers: Headers,
    { app, droid, web }: Awaited<ReturnType<typeof appWithTraffic>>,
  ) {
    expect(headers.get(`deviceCount_app_${app.pushApplicationID}`)).toBe('3')
    expect(headers.get(`deviceCount_variant_${droid.variantID}`)).toBe('2')
    expect(headers.get(`deviceCount_variant_${web.variantID}`)).toBe('1')
    expect(headers.get(`activity_app_${app.pushApplicationID}`)).toBe('3')
    expect(headers.get(`activity_variant_${droid.variantID}`)).toBe('2')
    expect(headers.get(`activity_variant_${web.variantID}`)).toBe('1')
  }

  it('are set on one application when asked for, and only then', async () => {
    const traffic = await appWithTraffic()
    const path = `/rest/applications/${traffic.app.pushApplicationID}`
    const counted = await api('GET', `${path}?includeDeviceCount=true&includeActivity=true`)
    expect(counted.status).toBe(200)
    expectCounts(counted.headers, traffic)

    const plain = await api('GET', path)
    const names = [...plain.headers.keys()]
    expect(names.filter((n) => n.startsWith('devicecount_') || n.startsWith('activity_'))).toEqual(
      [],
    )
  })

  /** The listed page holding `pushAppID`, asked for with both count flags. */
  async function pageWith(pushAppID: string) {
    const flags = 'includeDeviceCount=true&includeActivity=true&per_page=25'
    for (let page = 0; ; page++) {
      const listed = await api('GET', `/rest/applications?page=${page}&${flags}`)
      expect(listed.items.length).toBeGreaterThan(0)
      if (listed.items.some((a) => a.pushApplicationID === pushAppID)) return listed
    }
  }

  it('are set for every application of a listed page', async () => {
    const traffic = await appWithTraffic()
    const listed = await pageWith(traffic.app.pushApplicationID)
    expectCounts(listed.headers, traffic)
    for (const a of listed.items) {
      expect(listed.headers.get(`deviceCount_app_${a.pushApplicationID}`)).toMatch(/^\d+$/)
      expect(listed.headers.get(`activity_app_${a.pushApplicationID}`)).toMatch(/^\d+$/)
    }

    const idle = await createApp({ name: 'idle' })
    const idleVariant = await createVariant(idle, 'web_push')
    const idlePage = await pageWith(idle.pushApplicationID)
    expect(idlePage.headers.get(`deviceCount_app_${idle.pushApplicationID}`)).toBe('0')
    expect(idlePage.headers.get(`deviceCount_variant_${idleVariant.variantID}`)).toBe('0')
    expect(idlePage.headers.get(`activity_app_${idle.pushApplicationID}`)).toBe('0')
    expect(idlePage.headers.get(`activity_variant_${idleVariant.variantID}`)).toBe('0')
  })
})

describe('GET /rest/applications/{pushAppID}', () => {
  it('shows the application with its variants and a masked master secret', async () => {
    const app = await createApp({ name: 'one', description: 'single' })
    const droid = await createVariant(app, 'android')
    const fetched = await api('GET', `/rest/applications/${app.pushApplicationID}`)
    expect(fetched.status).toBe(200)
    expect(fetched.body).toEqual({
      ...app,
      masterSecret: MASK,
      variants: [
        expect.objectContaining({
          id: droid.id,
          variantID: droid.variantID,
          secret: droid.secret,
          type: 'android',
          projectId: 'pushgate-fcm-test',
        }),
      ],
    })
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('GET', `/rest/applications/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
    expect(missing.body.message).toMatch(/not found/i)
  })
})

describe('PUT /rest/applications/{pushAppID}', () => {
  it('changes name and description, answering 204', async () => {
    const app = await createApp({ name: 'before', description: 'old' })
    const before = await appRow(app)
    const path = `/rest/applications/${app.pushApplicationID}`
    const updated = await api('PUT', path, { body: { name: 'after', description: 'new' } })
    expect(updated.status).toBe(204)
    expect(updated.text).toBe('')

    const stored = await appRow(app)
    expect(stored).toMatchObject({
      name: 'after',
      description: 'new',
      push_application_id: app.pushApplicationID,
      master_secret_hash: before?.master_secret_hash,
    })
    const fetched = await api('GET', path)
    expect(fetched.body).toMatchObject({ name: 'after', description: 'new', masterSecret: MASK })
  })

  it('leaves out what is not given', async () => {
    const app = await createApp({ name: 'partial', description: 'kept' })
    const path = `/rest/applications/${app.pushApplicationID}`
    expect((await api('PUT', path, { body: { name: 'renamed' } })).status).toBe(204)
    expect(await appRow(app)).toMatchObject({ name: 'renamed', description: 'kept' })
  })

  const invalid: [string, unknown, string][] = [
    ['malformed JSON', '{name:', '(body)'],
    ['a master secret', { name: 'x', masterSecret: 'sixteen-characters!' }, 'masterSecret'],
    ['a pushApplicationID', { pushApplicationID: 'taken-over' }, 'pushApplicationID'],
    ['a name of the wrong type', { name: ['x'] }, 'name'],
    ['an empty name', { name: '' }, 'name'],
  ]
  for (const [what, body, field] of invalid) {
    it(`refuses ${what} with 400 naming ${field}, and changes nothing`, async () => {
      const app = await createApp({ name: 'guarded' })
      const before = await appRow(app)
      const refused = await api('PUT', `/rest/applications/${app.pushApplicationID}`, { body })
      expect(refused.status).toBe(400)
      expect(refused.body.details).toHaveProperty([field])
      expect(await appRow(app)).toEqual(before)
    })
  }

  it('refuses a body over 64 KB with 413, and changes nothing', async () => {
    const app = await createApp({ name: 'guarded' })
    const before = await appRow(app)
    const body = { name: 'x', description: 'y'.repeat(65 * 1024) }
    const refused = await api('PUT', `/rest/applications/${app.pushApplicationID}`, { body })
    expect(refused.status).toBe(413)
    expect(await appRow(app)).toEqual(before)
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('PUT', `/rest/applications/${crypto.randomUUID()}`, {
      body: { name: 'nobody' },
    })
    expect(missing.status).toBe(404)
  })
})

describe('PUT /rest/applications/{pushAppID}/reset', () => {
  it('answers with a new master secret and replaces the stored hash', async () => {
    const oldSecret = `old-master-secret-${crypto.randomUUID()}`
    const app = await createApp({ name: 'resettable', masterSecret: oldSecret })
    const variant = await createVariant(app, 'web_push')

    const reset = await api('PUT', `/rest/applications/${app.pushApplicationID}/reset`, {
      reveals: 'masterSecret',
    })
    expect(reset.status).toBe(200)
    const newSecret = String(reset.body.masterSecret)
    expect(newSecret).not.toBe(oldSecret)
    expect(newSecret).not.toBe(MASK)
    expect(newSecret.length).toBeGreaterThanOrEqual(32)
    expect(reset.body).toEqual({
      ...app,
      masterSecret: newSecret,
      variants: [expect.objectContaining({ variantID: variant.variantID })],
    })

    const stored = await appRow(app)
    expect(stored?.master_secret_hash).toBe(await sha256Hex(newSecret))
    expect(stored?.master_secret_hash).not.toBe(await sha256Hex(oldSecret))

    const fetched = await api('GET', `/rest/applications/${app.pushApplicationID}`)
    expect(fetched.body.masterSecret).toBe(MASK)
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('PUT', `/rest/applications/${crypto.randomUUID()}/reset`)
    expect(missing.status).toBe(404)
  })
})

describe('DELETE /rest/applications/{pushAppID}', () => {
  it('removes the application with its variants, installations and metrics', async () => {
    const app = await createApp({ name: 'doomed' })
    const variants = [
      await createVariant(app, 'android'),
      await createVariant(app, 'ios_token'),
      await createVariant(app, 'web_push'),
    ]
    for (const v of variants) {
      const registered = await api('POST', '/rest/registry/device', {
        auth: basic(v.variantID, v.secret),
        body: { deviceToken: await deviceToken(v.type), categories: ['news'] },
      })
      expect(registered.status).toBe(200)
    }
    await insertJob(app, variants)
    const survivor = await createApp({ name: 'survivor' })
    const survivorVariant = await createVariant(survivor, 'ios_token')
    await register(survivorVariant)
    await insertJob(survivor, [survivorVariant])

    const ids = variants.map((v) => v.id)
    const installed = await installationIds(ids)
    expect(installed).toHaveLength(3)
    expect(await countIn('installation_categories', 'installation_id', installed)).toBe(3)

    const deleted = await api('DELETE', `/rest/applications/${app.pushApplicationID}`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')

    expect(await appRow(app)).toBeNull()
    expect(await countIn('variants', 'application_id', [app.id])).toBe(0)
    expect(await countIn('installations', 'variant_id', ids)).toBe(0)
    expect(await countIn('installation_categories', 'installation_id', installed)).toBe(0)
    expect(await countIn('push_jobs', 'application_id', [app.id])).toBe(0)
    expect(await countIn('job_variants', 'variant_id', ids)).toBe(0)

    // The other application keeps everything.
    expect(await appRow(survivor)).not.toBeNull()
    expect(await countIn('installations', 'variant_id', [survivorVariant.id])).toBe(1)
    expect(await countIn('push_jobs', 'application_id', [survivor.id])).toBe(1)
    expect(await countIn('job_variants', 'variant_id', [survivorVariant.id])).toBe(1)

    // Gone for every caller: the admin API and the devices of its variants.
    const path = `/rest/applications/${app.pushApplicationID}`
    expect((await api('GET', path)).status).toBe(404)
    expect((await api('DELETE', path)).status).toBe(404)
    const orphan = await registerDevice(api, variants[0] as Variant)
    expect(orphan.status).toBe(401)
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('DELETE', `/rest/applications/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
  })
})

describe('GET /rest/applications/{pushAppID}/count', () => {
  it('counts installations per type and per variant of this application only', async () => {
    const app = await createApp({ name: 'census' })
    const droidA = await createVariant(app, 'android')
    const droidB = await createVariant(app, 'android')
    const phone = await createVariant(app, 'ios_token')
    const web = await createVariant(app, 'web_push')
    await register(droidA, 2)
    await register(droidB, 1)
    await register(phone, 1)
    const other = await createApp({ name: 'neighbour' })
    await register(await createVariant(other, 'web_push'), 2)

    const counted = await api('GET', `/rest/applications/${app.pushApplicationID}/count`)
    expect(counted.status).toBe(200)
    expect(counted.body).toEqual({
      android: 3,
      ios_token: 1,
      web_push: 0,
      [droidA.variantID]: 2,
      [droidB.variantID]: 1,
      [phone.variantID]: 1,
      [web.variantID]: 0,
    })
  })

  it('answers zeros for an application without variants', async () => {
    const app = await createApp({ name: 'empty' })
    const counted = await api('GET', `/rest/applications/${app.pushApplicationID}/count`)
    expect(counted.body).toEqual({ android: 0, ios_token: 0, web_push: 0 })
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('GET', `/rest/applications/${crypto.randomUUID()}/count`)
    expect(missing.status).toBe(404)
  })
})

describe('admin authentication', () => {
  const refusals: [string, string | null][] = [
    ['no Authorization header', null],
    ['a wrong bearer token', 'Bearer not-the-admin-token'],
    ['the admin token with a suffix', `Bearer ${env.ADMIN_TOKEN}x`],
    ['the admin token as Basic', `Basic ${btoa(`admin:${env.ADMIN_TOKEN}`)}`],
  ]

  for (const [what, auth] of refusals) {
    it(`answers 401 to ${what} on every application route, and changes nothing`, async () => {
      const app = await createApp({ name: 'locked' })
      const before = await appRow(app)
      const total = await appCount()
      const path = `/rest/applications/${app.pushApplicationID}`
      const routes: [string, string, unknown][] = [
        ['POST', '/rest/applications', { name: 'intruder' }],
        ['GET', '/rest/applications', undefined],
        ['GET', path, undefined],
        ['PUT', path, { name: 'taken over' }],
        ['PUT', `${path}/reset`, undefined],
        ['DELETE', path, undefined],
        ['GET', `${path}/count`, undefined],
      ]
      for (const [method, route, body] of routes) {
        const refused = await api(method, route, { auth, body })
        expect(refused.status, `${method} ${route}`).toBe(401)
        expect(refused.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=/)
        expect(refused.body).toEqual({ message: 'Unauthorized Request' })
      }
      expect(await appRow(app)).toEqual(before)
      expect(await appCount()).toBe(total)
    })
  }
})
