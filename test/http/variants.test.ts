/**
 * `/rest/applications/{pushAppID}/{type}` through the Worker's fetch handler, with real
 * credentials made here: an RS256 service account, an ES256 .p8 key and VAPID pairs. Every
 * response is kept and searched for those keys at the end. D1 persists between the tests of this
 * file, so each test makes its own applications.
 */
import { importPKCS8 } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic } from '../helpers'
import {
  appleId,
  countIn,
  countRows,
  deviceToken,
  generateVapidKeys,
  installationIds,
  type Json,
  privatePem,
  recorder,
  registerDevice,
  row,
  serviceAccount,
  storedPrivateKey,
  storedVariant,
  vapidPairMatches,
} from './admin-fixtures'

const { api, secret, leaks, count } = recorder()

type App = { id: string; pushApplicationID: string }
type Variant = Json & { id: string; variantID: string; secret: string; type: string }

const keys = {
  apns: '',
  apnsNext: '',
  fcm: '',
  fcmNext: '',
  /** Right format, wrong algorithm: refused by each network's check. */
  es256ForFcm: '',
  rsaForApns: '',
  vapid: { publicKey: '', privateKey: '' },
  vapidNext: { publicKey: '', privateKey: '' },
  vapidOther: { publicKey: '', privateKey: '' },
}

beforeAll(async () => {
  keys.apns = await privatePem('ES256')
  keys.apnsNext = await privatePem('ES256')
  keys.fcm = await privatePem('RS256')
  keys.fcmNext = await privatePem('RS256')
  keys.es256ForFcm = await privatePem('ES256')
  keys.rsaForApns = await privatePem('RS256')
  keys.vapid = await generateVapidKeys()
  keys.vapidNext = await generateVapidKeys()
  keys.vapidOther = await generateVapidKeys()
  for (const pem of [keys.apns, keys.apnsNext, keys.fcm, keys.fcmNext]) secret(pem)
  for (const pem of [keys.es256ForFcm, keys.rsaForApns]) secret(pem)
  for (const pair of [keys.vapid, keys.vapidNext, keys.vapidOther]) secret(pair.privateKey)
})

afterAll(() => {
  expect(count()).toBeGreaterThan(0)
  expect(leaks()).toEqual([])
})

const PROJECT_NUMBER = '123456789012'

const bodies = {
  android: (): Json => ({
    name: 'Android',
    description: 'the Android app',
    serviceAccount: serviceAccount(keys.fcm),
    projectNumber: PROJECT_NUMBER,
  }),
  ios_token: (): Json => ({
    name: 'iOS',
    description: 'the iPhone app',
    privateKey: keys.apns,
    keyId: appleId(),
    teamId: appleId(),
    bundleId: 'com.example.app',
    production: true,
  }),
  web_push: (): Json => ({
    name: 'Web',
    description: 'the web app',
    alias: 'mailto:ops@example.com',
    ...keys.vapid,
  }),
}
type Type = keyof typeof bodies
const TYPES = Object.keys(bodies) as Type[]

async function newApp(): Promise<App> {
  const created = await api('POST', '/rest/applications', {
    body: { name: 'variants' },
    reveals: 'masterSecret',
  })
  expect(created.status).toBe(201)
  return created.body as unknown as App
}

const base = (app: App, type: string) => `/rest/applications/${app.pushApplicationID}/${type}`

async function create(app: App, type: string, body: Json): Promise<Variant> {
  const created = await api('POST', base(app, type), { body })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const variant = created.body as unknown as Variant
  // Keys the Worker made (VAPID) are secrets too: the leak check must know them.
  const stored = await storedVariant(variant.id)
  if (stored) secret(storedPrivateKey(stored.credentials))
  return variant
}

const variantRow = (id: string) => row('SELECT * FROM variants WHERE id = ?', id)
const variantsOfApp = (app: App) =>
  countRows('SELECT count(*) AS n FROM variants WHERE application_id = ?', app.id)

/** Expects a 400 whose details name `field`, and no variant written for `app`. */
async function expectRefused(app: App, method: string, path: string, body: unknown, field: string) {
  const before = await variantsOfApp(app)
  const refused = await api(method, path, { body })
  expect(refused.status, JSON.stringify(refused.body)).toBe(400)
  expect(refused.body.details, JSON.stringify(refused.body)).toHaveProperty([field])
  expect(await variantsOfApp(app)).toBe(before)
  return refused
}

const common = (type: string) => ({
  id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  variantID: expect.stringMatching(/^[0-9a-f-]{36}$/),
  secret: expect.stringMatching(/^.{16,}$/),
  type,
  developer: 'admin',
})

describe('POST /{type}', () => {
  it('creates an android variant from a service account and seals it', async () => {
    const app = await newApp()
    const created = await api('POST', base(app, 'android'), { body: bodies.android() })
    expect(created.status).toBe(201)
    const variant = created.body as unknown as Variant
    expect(variant).toEqual({
      ...common('android'),
      name: 'Android',
      description: 'the Android app',
      projectId: 'pushgate-fcm-test',
      clientEmail: 'sender@pushgate-fcm-test.iam.gserviceaccount.com',
      projectNumber: PROJECT_NUMBER,
    })
    expect(created.headers.get('Location')).toBe(`${base(app, 'android')}/${variant.variantID}`)

    const stored = await storedVariant(variant.id)
    expect(stored?.row).toMatchObject({ application_id: app.id, type: 'android' })
    expect(stored?.row.credentials_sealed).toMatch(/^v1\./)
    expect(stored?.row.secret_sealed).toMatch(/^v1\./)
    expect(JSON.stringify(stored?.row)).not.toContain('PRIVATE KEY')
    expect(JSON.stringify(stored?.row)).not.toContain(variant.secret)
    expect(stored?.secret).toBe(variant.secret)
    expect(stored?.credentials).toEqual({
      serviceAccount: expect.objectContaining({
        project_id: 'pushgate-fcm-test',
        private_key: keys.fcm.trim(),
      }),
    })

    const fetched = await api('GET', String(created.headers.get('Location')))
    expect(fetched.status).toBe(200)
    expect(fetched.body).toEqual(variant)
  })

  it('takes the service account as the text of the key file', async () => {
    const app = await newApp()
    const body = { name: 'text', serviceAccount: JSON.stringify(serviceAccount(keys.fcm)) }
    const variant = await create(app, 'android', body)
    expect(variant).toMatchObject({ projectId: 'pushgate-fcm-test', projectNumber: null })
  })

  it('creates an ios_token variant from a .p8 key and seals the key', async () => {
    const app = await newApp()
    const body = bodies.ios_token()
    const created = await api('POST', base(app, 'ios_token'), { body })
    expect(created.status).toBe(201)
    const variant = created.body as unknown as Variant
    expect(variant).toEqual({
      ...common('ios_token'),
      name: 'iOS',
      description: 'the iPhone app',
      keyId: body.keyId,
      teamId: body.teamId,
      bundleId: 'com.example.app',
      production: true,
    })
    expect(created.headers.get('Location')).toBe(`${base(app, 'ios_token')}/${variant.variantID}`)

    const stored = await storedVariant(variant.id)
    expect(stored?.row.credentials_sealed).toMatch(/^v1\./)
    expect(JSON.stringify(stored?.row)).not.toContain('PRIVATE KEY')
    expect(stored?.credentials).toEqual({ privateKey: keys.apns.trim() })
  })

  it('stores a .p8 pasted with blank lines around it in the form it signs with', async () => {
    const app = await newApp()
    const pasted = `\r\n\r\n${keys.apns.replaceAll('\n', '\r\n')}\r\n`
    const variant = await create(app, 'ios_token', { ...bodies.ios_token(), privateKey: pasted })
    const stored = String((await storedVariant(variant.id))?.credentials.privateKey)
    // jose, like the APNs signer, wants the PEM header at offset 0.
    await expect(importPKCS8(stored, 'ES256')).resolves.toBeDefined()
  })

  it('makes an ios_token variant a sandbox one unless production is given', async () => {
    const app = await newApp()
    const { production: _, ...body } = bodies.ios_token()
    expect(await create(app, 'ios_token', body)).toMatchObject({ production: false })
  })

  it('creates a web_push variant from a VAPID pair and seals the private key', async () => {
    const app = await newApp()
    const created = await api('POST', base(app, 'web_push'), { body: bodies.web_push() })
    expect(created.status).toBe(201)
    const variant = created.body as unknown as Variant
    expect(variant).toEqual({
      ...common('web_push'),
      name: 'Web',
      description: 'the web app',
      publicKey: keys.vapid.publicKey,
      alias: 'mailto:ops@example.com',
    })
    expect(created.headers.get('Location')).toBe(`${base(app, 'web_push')}/${variant.variantID}`)

    const stored = await storedVariant(variant.id)
    expect(stored?.row.credentials_sealed).toMatch(/^v1\./)
    expect(JSON.stringify(stored?.row)).not.toContain(keys.vapid.privateKey)
    expect(stored?.credentials).toEqual({ privateKey: keys.vapid.privateKey })
  })

  it('stores the VAPID subject it checked, without surrounding whitespace', async () => {
    const app = await newApp()
    const alias = '  mailto:ops@example.com\n'
    const variant = await create(app, 'web_push', { ...bodies.web_push(), alias })
    expect(variant.alias).toBe('mailto:ops@example.com')
    expect((await storedVariant(variant.id))?.settings.alias).toBe('mailto:ops@example.com')
  })

  it('generates a VAPID pair when neither key is given', async () => {
    const app = await newApp()
    const variant = await create(app, 'web_push', { name: 'gen', alias: 'https://example.com/ops' })
    expect(variant.publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/)
    const stored = await storedVariant(variant.id)
    const privateKey = String(stored?.credentials.privateKey)
    expect(await vapidPairMatches(String(variant.publicKey), privateKey)).toBe(true)
  })

  it('honours a given variant secret, which devices then register with', async () => {
    const app = await newApp()
    const given = `device-secret-${crypto.randomUUID()}`
    const variant = await create(app, 'ios_token', { ...bodies.ios_token(), secret: given })
    expect(variant.secret).toBe(given)
    expect((await registerDevice(api, variant)).status).toBe(200)
  })

  it('accepts the iostoken and webpush aliases and answers with the canonical type', async () => {
    const app = await newApp()
    const phone = await create(app, 'iostoken', bodies.ios_token())
    const web = await create(app, 'webpush', bodies.web_push())
    expect(phone.type).toBe('ios_token')
    expect(web.type).toBe('web_push')
    expect((await api('GET', `${base(app, 'iostoken')}/${phone.variantID}`)).body).toEqual(phone)
    expect((await api('GET', base(app, 'webpush'))).body).toEqual([web])
  })

  it('accepts a body type naming the type of the path', async () => {
    const app = await newApp()
    expect(
      (await create(app, 'ios_token', { ...bodies.ios_token(), type: 'ios_token' })).type,
    ).toBe('ios_token')
    expect((await create(app, 'webpush', { ...bodies.web_push(), type: 'web_push' })).type).toBe(
      'web_push',
    )
    expect((await create(app, 'android', { ...bodies.android(), type: 'android' })).type).toBe(
      'android',
    )
  })

  it('refuses a body type naming another type', async () => {
    const app = await newApp()
    const body = { ...bodies.web_push(), type: 'android' }
    await expectRefused(app, 'POST', base(app, 'web_push'), body, 'type')
    await expectRefused(
      app,
      'POST',
      base(app, 'ios_token'),
      { ...bodies.ios_token(), type: 'ios' },
      'type',
    )
  })

  it('refuses certificate-based ios variants with a pointer to ios_token', async () => {
    const app = await newApp()
    const body = { name: 'cert', certificate: 'MIIB...', passphrase: 'x', production: false }
    const refused = await expectRefused(app, 'POST', base(app, 'ios'), body, 'type')
    expect(refused.body.message).toContain('ios_token')
    const listed = await api('GET', base(app, 'ios'))
    expect(listed.status).toBe(400)
    expect(listed.body.message).toContain('ios_token')
  })

  it('answers 404, not 500, for a type named like an Object property', async () => {
    const app = await newApp()
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const listed = await api('GET', base(app, type))
      expect(listed.status, type).toBe(404)
      const created = await api('POST', base(app, type), { body: bodies.web_push() })
      expect(created.status, type).toBe(404)
    }
    expect(await variantsOfApp(app)).toBe(0)
  })

  it('answers 404 for a type it does not know', async () => {
    const app = await newApp()
    const unknown = await api('POST', base(app, 'windows_wns'), { body: { name: 'w' } })
    expect(unknown.status).toBe(404)
    expect(await variantsOfApp(app)).toBe(0)
  })

  it('refuses the legacy googleKey of UPS clients, naming serviceAccount', async () => {
    const app = await newApp()
    const body = { name: 'legacy', googleKey: 'AAAAexampleLegacyServerKey', projectNumber: '42' }
    const refused = await expectRefused(app, 'POST', base(app, 'android'), body, 'serviceAccount')
    expect(refused.body.message).toContain('serviceAccount')
  })

  it('refuses an android variant without a service account', async () => {
    const app = await newApp()
    const body = { name: 'bare', projectNumber: '42' }
    await expectRefused(app, 'POST', base(app, 'android'), body, 'serviceAccount')
  })

  const badCredentials: [string, Type, () => Json, string][] = [
    [
      'an ES256 key as the FCM key',
      'android',
      () => ({ ...bodies.android(), serviceAccount: serviceAccount(keys.es256ForFcm) }),
      'serviceAccount.private_key',
    ],
    [
      'a service account without client_email',
      'android',
      () => {
        const { client_email: _, ...account } = serviceAccount(keys.fcm)
        return { ...bodies.android(), serviceAccount: account }
      },
      'serviceAccount.client_email',
    ],
    [
      'a service account that is not JSON',
      'android',
      () => ({ ...bodies.android(), serviceAccount: '{"private_key": ' }),
      'serviceAccount',
    ],
    [
      'an RSA key as the .p8',
      'ios_token',
      () => ({ ...bodies.ios_token(), privateKey: keys.rsaForApns }),
      'privateKey',
    ],
    [
      'a .p8 cut short',
      'ios_token',
      () => ({ ...bodies.ios_token(), privateKey: keys.apns.slice(0, 80) }),
      'privateKey',
    ],
    [
      'a keyId of 9 characters',
      'ios_token',
      () => ({ ...bodies.ios_token(), keyId: appleId().slice(0, 9) }),
      'keyId',
    ],
    [
      'a lower-case teamId',
      'ios_token',
      () => ({ ...bodies.ios_token(), teamId: 'abcdefghij' }),
      'teamId',
    ],
    [
      'a VAPID pair that does not match',
      'web_push',
      () => ({ ...bodies.web_push(), privateKey: keys.vapidOther.privateKey }),
      'privateKey',
    ],
    [
      'only the public half of a VAPID pair',
      'web_push',
      () => ({ name: 'half', alias: 'mailto:ops@example.com', publicKey: keys.vapid.publicKey }),
      'privateKey',
    ],
    [
      'only the private half of a VAPID pair',
      'web_push',
      () => ({ name: 'half', alias: 'mailto:ops@example.com', privateKey: keys.vapid.privateKey }),
      'publicKey',
    ],
  ]
  for (const [what, type, body, field] of badCredentials) {
    it(`refuses ${what} with 400 naming ${field}, and writes nothing`, async () => {
      const app = await newApp()
      await expectRefused(app, 'POST', base(app, type), body(), field)
    })
  }

  // Case 12: Apple's push service refuses these subjects, so the variant is refused up front.
  for (const alias of [
    'mailto:ops@localhost',
    'https://localhost',
    'http://example.com',
    'ops@example.com',
  ]) {
    it(`refuses the VAPID subject ${alias}`, async () => {
      const app = await newApp()
      await expectRefused(
        app,
        'POST',
        base(app, 'web_push'),
        { ...bodies.web_push(), alias },
        'alias',
      )
    })
  }

  for (const alias of ['mailto:ops@example.com', 'https://example.com/contact']) {
    it(`accepts the VAPID subject ${alias}`, async () => {
      const app = await newApp()
      expect((await create(app, 'web_push', { ...bodies.web_push(), alias })).alias).toBe(alias)
    })
  }

  const without = (body: Json, field: string) => {
    const { [field]: _, ...rest } = body
    return rest
  }
  const invalid: [string, Type, () => unknown, string][] = [
    ['malformed JSON', 'android', () => '{"name": ', '(body)'],
    ['an empty body', 'web_push', () => '', '(body)'],
    [
      'an unknown field',
      'ios_token',
      () => ({ ...bodies.ios_token(), certificate: 'x' }),
      'certificate',
    ],
    [
      'production of the wrong type',
      'ios_token',
      () => ({ ...bodies.ios_token(), production: 'yes' }),
      'production',
    ],
    ['a name of the wrong type', 'web_push', () => ({ ...bodies.web_push(), name: 7 }), 'name'],
    ['no name', 'android', () => without(bodies.android(), 'name'), 'name'],
    ['no VAPID subject', 'web_push', () => without(bodies.web_push(), 'alias'), 'alias'],
    ['no bundleId', 'ios_token', () => without(bodies.ios_token(), 'bundleId'), 'bundleId'],
  ]
  for (const [what, type, body, field] of invalid) {
    it(`refuses ${what} (${type}) with 400 naming ${field}, and writes nothing`, async () => {
      const app = await newApp()
      await expectRefused(app, 'POST', base(app, type), body(), field)
    })
  }

  it('refuses a body over 64 KB with 413, and writes nothing', async () => {
    const app = await newApp()
    const body = { ...bodies.web_push(), description: 'x'.repeat(64 * 1024) }
    const refused = await api('POST', base(app, 'web_push'), { body })
    expect(refused.status).toBe(413)
    expect(await variantsOfApp(app)).toBe(0)
  })

  it('answers 404 for an unknown application', async () => {
    const missing = await api('POST', `/rest/applications/${crypto.randomUUID()}/web_push`, {
      body: bodies.web_push(),
    })
    expect(missing.status).toBe(404)
  })
})

describe('GET /{type} and /{type}/{variantID}', () => {
  it('lists the variants of one type of this application only', async () => {
    const app = await newApp()
    const droids = [
      await create(app, 'android', bodies.android()),
      await create(app, 'android', bodies.android()),
    ]
    const phone = await create(app, 'ios_token', bodies.ios_token())
    const other = await newApp()
    await create(other, 'android', bodies.android())

    const listed = await api('GET', base(app, 'android'))
    expect(listed.status).toBe(200)
    expect(listed.body).toHaveLength(2)
    expect(listed.body).toEqual(expect.arrayContaining(droids))
    expect((await api('GET', base(app, 'ios_token'))).body).toEqual([phone])
    expect((await api('GET', base(app, 'iostoken'))).body).toEqual([phone])
    expect((await api('GET', base(app, 'web_push'))).body).toEqual([])
  })

  it('shows one variant, and 404 for another type, an unknown id or an unknown app', async () => {
    const app = await newApp()
    const web = await create(app, 'web_push', bodies.web_push())
    const fetched = await api('GET', `${base(app, 'web_push')}/${web.variantID}`)
    expect(fetched.status).toBe(200)
    expect(fetched.body).toEqual(web)

    const misses = [
      `${base(app, 'android')}/${web.variantID}`,
      `${base(app, 'web_push')}/${crypto.randomUUID()}`,
      `/rest/applications/${crypto.randomUUID()}/web_push/${web.variantID}`,
      `/rest/applications/${crypto.randomUUID()}/web_push`,
    ]
    for (const path of misses) expect((await api('GET', path)).status, path).toBe(404)
  })
})

describe('PUT /{type}/{variantID}', () => {
  async function put(app: App, variant: Variant, body: unknown, type = variant.type) {
    return api('PUT', `${base(app, type)}/${variant.variantID}`, { body })
  }

  /** Expects a refused update to leave the row exactly as it was. */
  async function expectUnchanged(app: App, variant: Variant, body: unknown, field: string) {
    const before = await variantRow(variant.id)
    const refused = await put(app, variant, body)
    expect(refused.status, JSON.stringify(refused.body)).toBe(400)
    expect(refused.body.details).toHaveProperty([field])
    expect(await variantRow(variant.id)).toEqual(before)
  }

  it('changes only the fields given', async () => {
    const app = await newApp()
    for (const type of TYPES) {
      const variant = await create(app, type, bodies[type]())
      const before = await storedVariant(variant.id)
      const updated = await put(app, variant, { name: 'renamed', description: null })
      expect(updated.status).toBe(200)
      expect(updated.body).toEqual({ ...variant, name: 'renamed', description: null })
      const after = await storedVariant(variant.id)
      expect(after?.secret).toBe(before?.secret)
      expect(after?.credentials).toEqual(before?.credentials)
      expect(after?.settings).toEqual(before?.settings)
    }
  })

  it('changes ios_token settings without touching the key', async () => {
    const app = await newApp()
    const variant = await create(app, 'ios_token', bodies.ios_token())
    const teamId = appleId()
    const body = { production: false, bundleId: 'com.example.other', teamId }
    const updated = await put(app, variant, body)
    expect(updated.status).toBe(200)
    expect(updated.body).toEqual({ ...variant, ...body })
    expect((await storedVariant(variant.id))?.credentials).toEqual({ privateKey: keys.apns.trim() })
  })

  it('replaces the .p8 key and keyId after checking them', async () => {
    const app = await newApp()
    const variant = await create(app, 'ios_token', bodies.ios_token())
    await expectUnchanged(app, variant, { privateKey: keys.rsaForApns }, 'privateKey')
    await expectUnchanged(app, variant, { keyId: 'SHORT' }, 'keyId')
    await expectUnchanged(app, variant, { teamId: 'lowercase!' }, 'teamId')

    const keyId = appleId()
    const updated = await put(app, variant, { privateKey: keys.apnsNext, keyId })
    expect(updated.status).toBe(200)
    expect(updated.body).toEqual({ ...variant, keyId })
    expect((await storedVariant(variant.id))?.credentials).toEqual({
      privateKey: keys.apnsNext.trim(),
    })
  })

  it('changes the projectNumber, and replaces a service account after checking it', async () => {
    const app = await newApp()
    const variant = await create(app, 'android', bodies.android())
    const renumbered = await put(app, variant, { projectNumber: '42' })
    expect(renumbered.status).toBe(200)
    expect(renumbered.body).toEqual({ ...variant, projectNumber: '42' })
    const stored = await storedVariant(variant.id)
    expect(storedPrivateKey(stored?.credentials ?? {})).toBe(keys.fcm.trim())

    const bad = { serviceAccount: serviceAccount(keys.es256ForFcm, 'evil-project') }
    await expectUnchanged(app, variant, bad, 'serviceAccount.private_key')
    await expectUnchanged(app, variant, { googleKey: 'AAAAlegacy' }, 'serviceAccount')

    const replaced = await put(app, variant, {
      serviceAccount: serviceAccount(keys.fcmNext, 'next-project'),
    })
    expect(replaced.status).toBe(200)
    expect(replaced.body).toEqual({
      ...variant,
      projectNumber: '42',
      projectId: 'next-project',
      clientEmail: 'sender@next-project.iam.gserviceaccount.com',
    })
    const next = await storedVariant(variant.id)
    expect(storedPrivateKey(next?.credentials ?? {})).toBe(keys.fcmNext.trim())
  })

  it('changes the VAPID subject and replaces the pair after checking it', async () => {
    const app = await newApp()
    const variant = await create(app, 'web_push', bodies.web_push())
    const aliased = await put(app, variant, { alias: 'https://example.com/ops' })
    expect(aliased.status).toBe(200)
    expect(aliased.body).toEqual({ ...variant, alias: 'https://example.com/ops' })
    expect((await storedVariant(variant.id))?.credentials).toEqual({
      privateKey: keys.vapid.privateKey,
    })

    await expectUnchanged(app, variant, { alias: 'mailto:ops@localhost' }, 'alias')
    await expectUnchanged(app, variant, { publicKey: keys.vapidNext.publicKey }, 'privateKey')
    const mismatched = {
      publicKey: keys.vapidNext.publicKey,
      privateKey: keys.vapidOther.privateKey,
    }
    await expectUnchanged(app, variant, mismatched, 'privateKey')

    const replaced = await put(app, variant, keys.vapidNext)
    expect(replaced.status).toBe(200)
    expect(replaced.body).toEqual({
      ...variant,
      alias: 'https://example.com/ops',
      publicKey: keys.vapidNext.publicKey,
    })
    expect((await storedVariant(variant.id))?.credentials).toEqual({
      privateKey: keys.vapidNext.privateKey,
    })
  })

  it('refuses bad bodies with 400 naming the field, and changes nothing', async () => {
    const app = await newApp()
    const variant = await create(app, 'web_push', bodies.web_push())
    await expectUnchanged(app, variant, '{"name": "x"', '(body)')
    await expectUnchanged(app, variant, { name: 'x', colour: 'red' }, 'colour')
    await expectUnchanged(app, variant, { name: 5 }, 'name')
    await expectUnchanged(app, variant, { name: 'x', type: 'android' }, 'type')
    await expectUnchanged(app, variant, { privateKey: keys.vapid.privateKey, keyId: 'X' }, 'keyId')

    const before = await variantRow(variant.id)
    const tooLarge = await put(app, variant, { description: 'x'.repeat(65 * 1024) })
    expect(tooLarge.status).toBe(413)
    expect(await variantRow(variant.id)).toEqual(before)

    const accepted = await put(app, variant, { name: 'typed', type: 'webpush' }, 'webpush')
    expect(accepted.status).toBe(200)
    expect(accepted.body.name).toBe('typed')
  })
})

describe('PATCH /ios_token/{variantID}', () => {
  it('updates like PUT and answers 204', async () => {
    const app = await newApp()
    const variant = await create(app, 'ios_token', bodies.ios_token())
    const path = `${base(app, 'ios_token')}/${variant.variantID}`
    const patched = await api('PATCH', path, { body: { name: 'patched', production: false } })
    expect(patched.status).toBe(204)
    expect(patched.text).toBe('')
    expect((await api('GET', path)).body).toEqual({
      ...variant,
      name: 'patched',
      production: false,
    })

    const aliased = await api('PATCH', `${base(app, 'iostoken')}/${variant.variantID}`, {
      body: { bundleId: 'com.example.patched' },
    })
    expect(aliased.status).toBe(204)
    expect((await api('GET', path)).body.bundleId).toBe('com.example.patched')
  })

  it('checks a new key before storing it', async () => {
    const app = await newApp()
    const variant = await create(app, 'ios_token', bodies.ios_token())
    const before = await variantRow(variant.id)
    const path = `${base(app, 'ios_token')}/${variant.variantID}`
    const refused = await api('PATCH', path, { body: { privateKey: keys.rsaForApns } })
    expect(refused.status).toBe(400)
    expect(refused.body.details).toHaveProperty('privateKey')
    expect(await variantRow(variant.id)).toEqual(before)
  })
})

describe('DELETE /{type}/{variantID}', () => {
  it('removes the variant and its installations, and nothing of its siblings', async () => {
    const app = await newApp()
    const doomed = await create(app, 'android', bodies.android())
    const sibling = await create(app, 'web_push', bodies.web_push())
    for (const v of [doomed, doomed, sibling]) {
      const registered = await api('POST', '/rest/registry/device', {
        auth: basic(v.variantID, v.secret),
        body: { deviceToken: await deviceToken(v.type), categories: ['sports'] },
      })
      expect(registered.status).toBe(200)
    }
    const installed = await installationIds([doomed.id])
    expect(installed).toHaveLength(2)
    expect(await countIn('installation_categories', 'installation_id', installed)).toBe(2)

    const path = `${base(app, 'android')}/${doomed.variantID}`
    const deleted = await api('DELETE', path)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')

    expect(await variantRow(doomed.id)).toBeNull()
    expect(await countIn('installations', 'variant_id', [doomed.id])).toBe(0)
    expect(await countIn('installation_categories', 'installation_id', installed)).toBe(0)
    expect(await variantRow(sibling.id)).not.toBeNull()
    expect(await countIn('installations', 'variant_id', [sibling.id])).toBe(1)

    expect((await api('GET', path)).status).toBe(404)
    expect((await api('DELETE', path)).status).toBe(404)
    expect((await registerDevice(api, doomed)).status).toBe(401)
  })

  it('accepts the webpush alias', async () => {
    const app = await newApp()
    const web = await create(app, 'web_push', bodies.web_push())
    expect((await api('DELETE', `${base(app, 'webpush')}/${web.variantID}`)).status).toBe(204)
    expect(await variantRow(web.id)).toBeNull()
  })
})

describe('PUT /{type}/{variantID}/reset', () => {
  it('gives a new secret; only the new one registers devices', async () => {
    const app = await newApp()
    for (const type of TYPES) {
      const variant = await create(app, type, bodies[type]())
      expect((await registerDevice(api, variant)).status).toBe(200)
      const credentialsBefore = (await storedVariant(variant.id))?.credentials

      const reset = await api('PUT', `${base(app, type)}/${variant.variantID}/reset`)
      expect(reset.status).toBe(200)
      const renewed = reset.body as unknown as Variant
      expect(renewed.secret).not.toBe(variant.secret)
      expect(renewed.secret.length).toBeGreaterThanOrEqual(16)
      expect(renewed).toEqual({ ...variant, secret: renewed.secret })

      const stored = await storedVariant(variant.id)
      expect(stored?.secret).toBe(renewed.secret)
      expect(stored?.credentials).toEqual(credentialsBefore)

      const old = await registerDevice(api, variant)
      expect(old.status).toBe(401)
      expect(old.headers.get('WWW-Authenticate')).toMatch(/^Basic /)
      expect((await registerDevice(api, renewed)).status).toBe(200)
    }
  })
})

describe('PUT /web_push/{variantID}/renew', () => {
  it('replaces the VAPID pair and keeps everything else', async () => {
    const app = await newApp()
    const web = await create(app, 'web_push', bodies.web_push())
    const renewed = await api('PUT', `${base(app, 'webpush')}/${web.variantID}/renew`)
    expect(renewed.status).toBe(200)
    const publicKey = String(renewed.body.publicKey)
    expect(publicKey).not.toBe(web.publicKey)
    expect(renewed.body).toEqual({ ...web, publicKey })

    const stored = await storedVariant(web.id)
    const privateKey = String(stored?.credentials.privateKey)
    secret(privateKey)
    expect(privateKey).not.toBe(keys.vapid.privateKey)
    expect(await vapidPairMatches(publicKey, privateKey)).toBe(true)
    expect(stored?.secret).toBe(web.secret)
  })

  it('answers 400 for variants without VAPID keys, and changes nothing', async () => {
    const app = await newApp()
    for (const type of ['android', 'ios_token'] as const) {
      const variant = await create(app, type, bodies[type]())
      const before = await variantRow(variant.id)
      const refused = await api('PUT', `${base(app, type)}/${variant.variantID}/renew`)
      expect(refused.status).toBe(400)
      expect(await variantRow(variant.id)).toEqual(before)
    }
  })
})

describe('tenancy', () => {
  it("never reaches another application's variant through this application's path", async () => {
    const mine = await newApp()
    const theirs = await newApp()
    for (const type of TYPES) {
      const victim = await create(theirs, type, bodies[type]())
      await create(mine, type, bodies[type]())
      const before = await variantRow(victim.id)
      const path = `${base(mine, type)}/${victim.variantID}`
      const attempts: [string, string, unknown][] = [
        ['GET', path, undefined],
        ['PUT', path, { name: 'hijacked' }],
        ['PATCH', path, { name: 'hijacked' }],
        ['PUT', `${path}/reset`, undefined],
        ['PUT', `${path}/renew`, undefined],
        ['DELETE', path, undefined],
      ]
      for (const [method, route, body] of attempts) {
        const refused = await api(method, route, { body })
        expect(refused.status, `${method} ${route}`).toBe(404)
      }
      expect(await variantRow(victim.id)).toEqual(before)
      const listed = await api('GET', base(mine, type))
      expect(listed.items.map((v) => v.variantID)).not.toContain(victim.variantID)
    }
  })
})

describe('unknown ids', () => {
  it('answers 404 on every variant route for an unknown application or variant', async () => {
    const app = await newApp()
    const web = await create(app, 'web_push', bodies.web_push())
    const ghostApp = `/rest/applications/${crypto.randomUUID()}/web_push`
    const routes: [string, string, unknown][] = [
      ['GET', ghostApp, undefined],
      ['POST', ghostApp, bodies.web_push()],
      ['GET', `${ghostApp}/${web.variantID}`, undefined],
      ['PUT', `${ghostApp}/${web.variantID}`, { name: 'x' }],
      ['PATCH', `${ghostApp}/${web.variantID}`, { name: 'x' }],
      ['DELETE', `${ghostApp}/${web.variantID}`, undefined],
      ['PUT', `${ghostApp}/${web.variantID}/reset`, undefined],
      ['PUT', `${ghostApp}/${web.variantID}/renew`, undefined],
    ]
    const ghostVariant = `${base(app, 'web_push')}/${crypto.randomUUID()}`
    routes.push(
      ['GET', ghostVariant, undefined],
      ['PUT', ghostVariant, { name: 'x' }],
      ['PATCH', ghostVariant, { name: 'x' }],
      ['DELETE', ghostVariant, undefined],
      ['PUT', `${ghostVariant}/reset`, undefined],
      ['PUT', `${ghostVariant}/renew`, undefined],
    )
    const before = await variantRow(web.id)
    for (const [method, route, body] of routes) {
      const missing = await api(method, route, { body })
      expect(missing.status, `${method} ${route}`).toBe(404)
    }
    expect(await variantRow(web.id)).toEqual(before)
  })
})

describe('admin authentication', () => {
  const refusals: [string, string | null][] = [
    ['no Authorization header', null],
    ['a wrong bearer token', 'Bearer wrong-token'],
    ["the variant's own Basic credentials", 'variant'],
  ]
  for (const [what, auth] of refusals) {
    it(`answers 401 to ${what} on every variant route, and changes nothing`, async () => {
      const app = await newApp()
      const web = await create(app, 'web_push', bodies.web_push())
      const before = await variantRow(web.id)
      const sent = auth === 'variant' ? basic(web.variantID, web.secret) : auth
      const path = `${base(app, 'web_push')}/${web.variantID}`
      const routes: [string, string, unknown][] = [
        ['POST', base(app, 'web_push'), bodies.web_push()],
        ['GET', base(app, 'web_push'), undefined],
        ['GET', path, undefined],
        ['PUT', path, { name: 'x' }],
        ['PATCH', path, { name: 'x' }],
        ['DELETE', path, undefined],
        ['PUT', `${path}/reset`, undefined],
        ['PUT', `${path}/renew`, undefined],
      ]
      for (const [method, route, body] of routes) {
        const refused = await api(method, route, { auth: sent, body })
        expect(refused.status, `${method} ${route}`).toBe(401)
        expect(refused.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=/)
        expect(refused.body).toEqual({ message: 'Unauthorized Request' })
      }
      expect(await variantRow(web.id)).toEqual(before)
      expect(await variantsOfApp(app)).toBe(1)
    })
  }
})
