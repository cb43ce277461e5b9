/**
 * `/rest/registry/device` as devices call it (API.md "Device registration", cases 1 and 2):
 * every test asserts the answer and the rows D1 holds afterwards. D1 state lasts one file, so
 * each test makes its own application and variants.
 */
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { basic, call } from '../helpers'
import { PUSH_SERVICE_ENDPOINTS, REFUSED_ENDPOINTS } from '../push-endpoints'
import {
  answerText,
  base64,
  type CreatedVariant,
  categoryExists,
  createApp,
  createVariant,
  deviceAuth,
  fcmToken,
  hex,
  importFile,
  newDeviceToken,
  realWebPushSubscription,
  register,
  storedInstallations,
  type VariantType,
} from './fixtures'

const TYPES: VariantType[] = ['ios_token', 'android', 'web_push']

const CASE_1_TOKEN = '<1E2122BA 4CCABB8E 7A34072C C71CF262 470B35CD E03F7EE8 D78ACDF0 8159E5A9>'
const CASE_1_HEX = '1e2122ba4ccabb8e7a34072cc71cf262470b35cde03f7ee8d78acdf08159e5a9'

const UNAUTHORIZED = { message: 'Unauthorized Request' }

async function freshVariant(type: VariantType): Promise<CreatedVariant> {
  const app = await createApp()
  return createVariant(app.pushApplicationID, type)
}

/** The form we expect a token stored in, worked out from the contract, not from the code. */
function storedForm(token: string | { endpoint: string; keys: object }): string {
  return typeof token === 'string' ? token : JSON.stringify(token)
}

function iosToken(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)))
}

function textBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

function deleteToken(variant: CreatedVariant, token: string, auth = deviceAuth(variant)) {
  return call('DELETE', `/rest/registry/device/${encodeURIComponent(token)}`, { auth })
}

describe('POST /rest/registry/device', () => {
  it('answers 200 with the installation as stored, categories and all', async () => {
    const variant = await freshVariant('ios_token')
    const token = iosToken()

    const res = await register(variant, {
      deviceToken: token,
      alias: 'alice@example.com',
      deviceType: 'iPhone',
      operatingSystem: 'iOS',
      osVersion: '17.4',
      categories: ['sport', 'news', 'news'],
    })

    expect(res.status, await answerText(res)).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    const rows = await storedInstallations(variant.variantID)
    expect(rows).toHaveLength(1)
    const [row] = rows
    expect(row).toMatchObject({
      device_token: token,
      alias: 'alice@example.com',
      device_type: 'iPhone',
      operating_system: 'iOS',
      os_version: '17.4',
      platform: null,
      enabled: 1,
      categories: ['news', 'sport'],
    })
    expect(await res.json()).toEqual({
      id: row?.id,
      deviceToken: token,
      alias: 'alice@example.com',
      deviceType: 'iPhone',
      operatingSystem: 'iOS',
      osVersion: '17.4',
      platform: null,
      enabled: true,
      categories: [{ name: 'news' }, { name: 'sport' }],
    })
  })

  it.each(TYPES)('upserts by (variant, token) for %s: same token, same row', async (type) => {
    const app = await createApp()
    const variant = await createVariant(app.pushApplicationID, type)
    const sibling = await createVariant(app.pushApplicationID, type)
    const token = await newDeviceToken(type)

    const first = await register(variant, { deviceToken: token, alias: 'first' })
    const second = await register(variant, { deviceToken: token, alias: 'second' })
    const elsewhere = await register(sibling, { deviceToken: token, alias: 'sibling' })

    expect(first.status, await answerText(first)).toBe(200)
    expect(second.status, await answerText(second)).toBe(200)
    expect(elsewhere.status, await answerText(elsewhere)).toBe(200)
    const firstBody = await first.json<{ id: string }>()
    const secondBody = await second.json<{ id: string; alias: string }>()
    expect(secondBody.id).toBe(firstBody.id)
    expect(secondBody.alias).toBe('second')

    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => [r.id, r.alias, r.device_token])).toEqual([
      [firstBody.id, 'second', storedForm(token)],
    ])
    // The same token in another variant of the application is another device.
    const siblingRows = await storedInstallations(sibling.variantID)
    expect(siblingRows.map((r) => r.alias)).toEqual(['sibling'])
    expect(siblingRows[0]?.id).not.toBe(firstBody.id)
  })

  it('stores enabled: false', async () => {
    const variant = await freshVariant('android')
    const token = fcmToken()

    const res = await register(variant, { deviceToken: token, enabled: false })

    expect(res.status, await answerText(res)).toBe(200)
    expect(await res.json()).toMatchObject({ deviceToken: token, enabled: false })
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => r.enabled)).toEqual([0])
  })
})

describe('case 1: iOS token formats', () => {
  it('stores the spaced, bracketed, upper-case token once, as 64 lowercase hex digits', async () => {
    const variant = await freshVariant('ios_token')

    const first = await register(variant, { deviceToken: CASE_1_TOKEN, alias: 'first' })
    expect(first.status, await answerText(first)).toBe(200)
    const firstBody = await first.json<{ id: string; deviceToken: string }>()
    expect(firstBody.deviceToken).toBe(CASE_1_HEX)

    const again = await register(variant, { deviceToken: CASE_1_HEX, alias: 'plain' })
    expect(again.status, await answerText(again)).toBe(200)
    const againBody = await again.json<{ id: string; deviceToken: string; alias: string }>()
    expect(againBody).toMatchObject({ id: firstBody.id, deviceToken: CASE_1_HEX, alias: 'plain' })

    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => [r.id, r.device_token, r.token_key, r.alias])).toEqual([
      [firstBody.id, CASE_1_HEX, CASE_1_HEX, 'plain'],
    ])
  })

  it('accepts a 160-hex-digit token, lower-cased', async () => {
    const variant = await freshVariant('ios_token')
    const long = hex(crypto.getRandomValues(new Uint8Array(80)))
    expect(long).toHaveLength(160)

    const res = await register(variant, { deviceToken: long.toUpperCase() })

    expect(res.status, await answerText(res)).toBe(200)
    expect(await res.json()).toMatchObject({ deviceToken: long })
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => r.device_token)).toEqual([long])
  })

  it.each([
    ['"(null)"', '(null)'],
    ['an empty string', ''],
    ['63 hex digits', CASE_1_HEX.slice(1)],
    ['65 hex digits', `${CASE_1_HEX}a`],
    [
      'a bracketed odd token',
      '<1E2122BA 4CCABB8E 7A34072C C71CF262 470B35CD E03F7EE8 D78ACDF0 8159E5A>',
    ],
    ['a number', 1234],
  ])('refuses %s with 400 naming deviceToken, writing nothing', async (_, deviceToken) => {
    const variant = await freshVariant('ios_token')

    const res = await register(variant, { deviceToken, categories: ['case-1-refused'] })

    expect(res.status, await answerText(res)).toBe(400)
    const body = await res.json<{ message: string; details: Record<string, string> }>()
    expect(Object.keys(body.details)).toEqual(['deviceToken'])
    expect(await storedInstallations(variant.variantID)).toEqual([])
    expect(await categoryExists('case-1-refused')).toBe(false)
  })
})

describe('case 2: re-registration replaces every attribute', () => {
  it.each(TYPES)('%s: the second registration alone is left, without categories', async (type) => {
    const variant = await freshVariant(type)
    const token = await newDeviceToken(type)

    const first = await register(variant, {
      deviceToken: token,
      alias: 'a@example.com',
      deviceType: 'phone',
      osVersion: '1.0',
      categories: ['news'],
      enabled: false,
    })
    expect(first.status, await answerText(first)).toBe(200)
    const [before] = await storedInstallations(variant.variantID)
    expect(before?.categories).toEqual(['news'])

    const second = await register(variant, { deviceToken: token, alias: 'b@example.com' })

    expect(second.status, await answerText(second)).toBe(200)
    expect(await second.json()).toEqual({
      id: before?.id,
      deviceToken: storedForm(token),
      alias: 'b@example.com',
      deviceType: null,
      operatingSystem: null,
      osVersion: null,
      platform: null,
      enabled: true,
      categories: [],
    })
    const rows = await storedInstallations(variant.variantID)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      id: before?.id,
      alias: 'b@example.com',
      device_type: null,
      os_version: null,
      enabled: 1,
      categories: [],
    })
  })
})

describe('Web Push subscriptions', () => {
  it('takes the subscription as an object, as JSON text and as base64: one row', async () => {
    const variant = await freshVariant('web_push')
    const subscription = await realWebPushSubscription('https://push.example.net/send/abc-123')
    const json = JSON.stringify({ ...subscription, expirationTime: null })

    const asObject = await register(variant, { deviceToken: subscription, alias: 'object' })
    const asJson = await register(variant, { deviceToken: json, alias: 'json' })
    const asBase64 = await register(variant, { deviceToken: base64(textBytes(json)), alias: 'b64' })

    for (const res of [asObject, asJson, asBase64]) {
      expect(res.status, await answerText(res)).toBe(200)
    }
    const ids = await Promise.all(
      [asObject, asJson, asBase64].map(async (r) => (await r.json<{ id: string }>()).id),
    )
    expect(new Set(ids).size).toBe(1)
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => [r.id, r.alias, r.token_key])).toEqual([
      [ids[0], 'b64', subscription.endpoint],
    ])
    // What is stored is the subscription itself, keys as base64url, nothing else kept.
    expect(JSON.parse(rows[0]?.device_token ?? '')).toEqual(subscription)
  })

  it('updates the row when the browser re-subscribes with new keys at the same endpoint', async () => {
    const variant = await freshVariant('web_push')
    const endpoint = 'https://push.example.net/send/resubscribe'
    const old = await realWebPushSubscription(endpoint)
    const renewed = await realWebPushSubscription(endpoint)

    const first = await register(variant, { deviceToken: old })
    const second = await register(variant, { deviceToken: renewed })

    expect(first.status, await answerText(first)).toBe(200)
    expect(second.status, await answerText(second)).toBe(200)
    const firstId = (await first.json<{ id: string }>()).id
    expect(await second.json()).toMatchObject({ id: firstId, deviceToken: storedForm(renewed) })
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => [r.id, JSON.parse(r.device_token)])).toEqual([[firstId, renewed]])
  })

  it.each([
    ['an http: endpoint', async () => realWebPushSubscription('http://push.example.net/x')],
    [
      'a p256dh that is not a point on the curve',
      async () => {
        const sub = await realWebPushSubscription('https://push.example.net/off-curve')
        const point = new Uint8Array(65).fill(7)
        point[0] = 4
        return { ...sub, keys: { ...sub.keys, p256dh: base64(point) } }
      },
    ],
    [
      'an auth secret of 15 bytes',
      async () => {
        const sub = await realWebPushSubscription('https://push.example.net/short-auth')
        return { ...sub, keys: { ...sub.keys, auth: base64(new Uint8Array(15)) } }
      },
    ],
    ['base64 of something that is not JSON', async () => base64(textBytes('not json at all'))],
  ])('refuses %s with 400 naming deviceToken', async (_, make) => {
    const variant = await freshVariant('web_push')

    const res = await register(variant, { deviceToken: await make() })

    expect(res.status, await answerText(res)).toBe(400)
    const body = await res.json<{ details: Record<string, string> }>()
    expect(Object.keys(body.details)).toEqual(['deviceToken'])
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })
})

describe('Web Push endpoints (finding S2)', () => {
  it.each(REFUSED_ENDPOINTS)('refuses %s with 400 naming deviceToken', async (_, endpoint) => {
    const variant = await freshVariant('web_push')

    const res = await register(variant, { deviceToken: await realWebPushSubscription(endpoint) })

    expect(res.status, await answerText(res)).toBe(400)
    const body = await res.json<{ details: Record<string, string> }>()
    expect(Object.keys(body.details)).toEqual(['deviceToken'])
    expect(body.details.deviceToken).toMatch(/^The subscription endpoint /)
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it("registers the push services' endpoints as given", async () => {
    const variant = await freshVariant('web_push')

    for (const endpoint of PUSH_SERVICE_ENDPOINTS) {
      const res = await register(variant, { deviceToken: await realWebPushSubscription(endpoint) })
      expect(res.status, await answerText(res)).toBe(200)
    }

    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => r.token_key).sort()).toEqual([...PUSH_SERVICE_ENDPOINTS].sort())
  })
})

describe('Android tokens', () => {
  it('stores an FCM token exactly as given, case kept, from 100 characters', async () => {
    const variant = await freshVariant('android')
    const shortest = fcmToken(100)
    const usual = `${fcmToken(11)}:APA91b${fcmToken(140)}`

    for (const token of [shortest, usual]) {
      const res = await register(variant, { deviceToken: token })
      expect(res.status, await answerText(res)).toBe(200)
      expect(await res.json()).toMatchObject({ deviceToken: token })
    }
    const stored = (await storedInstallations(variant.variantID)).map((r) => r.device_token)
    expect(stored.sort()).toEqual([shortest, usual].sort())
  })

  it.each([
    ['99 characters', fcmToken(99)],
    ['a space inside', `${fcmToken(60)} ${fcmToken(60)}`],
    ['a dot inside', `${fcmToken(60)}.${fcmToken(60)}`],
    ['a padded token', ` ${fcmToken(140)}`],
    ['an iOS token', CASE_1_HEX],
    ['an empty string', ''],
  ])('refuses %s with 400 naming deviceToken', async (_, token) => {
    const variant = await freshVariant('android')

    const res = await register(variant, { deviceToken: token })

    expect(res.status, await answerText(res)).toBe(400)
    const body = await res.json<{ details: Record<string, string> }>()
    expect(Object.keys(body.details)).toEqual(['deviceToken'])
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })
})

describe('x-ag-old-token', () => {
  it('removes the previous installation in the same call', async () => {
    const variant = await freshVariant('android')
    const oldToken = fcmToken()
    const newToken = fcmToken()
    const other = fcmToken()
    for (const token of [oldToken, other]) {
      const res = await register(variant, { deviceToken: token, categories: ['news'] })
      expect(res.status, await answerText(res)).toBe(200)
    }

    const res = await register(
      variant,
      { deviceToken: newToken, alias: 'moved' },
      { 'x-ag-old-token': oldToken },
    )

    expect(res.status, await answerText(res)).toBe(200)
    expect(await res.json()).toMatchObject({ deviceToken: newToken, alias: 'moved' })
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => r.device_token).sort()).toEqual([newToken, other].sort())
  })

  it('matches the old iOS token in any spelling, and keeps a token that did not change', async () => {
    const variant = await freshVariant('ios_token')
    const newToken = iosToken()
    const seeded = await register(variant, { deviceToken: CASE_1_HEX })
    expect(seeded.status, await answerText(seeded)).toBe(200)

    const moved = await register(
      variant,
      { deviceToken: newToken },
      { 'x-ag-old-token': CASE_1_TOKEN },
    )
    expect(moved.status, await answerText(moved)).toBe(200)
    const movedId = (await moved.json<{ id: string }>()).id
    expect((await storedInstallations(variant.variantID)).map((r) => r.device_token)).toEqual([
      newToken,
    ])

    // The old token names the new one: the device is re-registered, not deleted.
    const same = await register(
      variant,
      { deviceToken: newToken, alias: 'same' },
      { 'x-ag-old-token': newToken.toUpperCase() },
    )
    expect(same.status, await answerText(same)).toBe(200)
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => [r.id, r.device_token, r.alias])).toEqual([[movedId, newToken, 'same']])
  })

  it('takes the old Web Push subscription as base64 JSON, keeping the new endpoint', async () => {
    const variant = await freshVariant('web_push')
    const old = await realWebPushSubscription('https://push.example.net/send/old')
    const renewed = await realWebPushSubscription('https://push.example.net/send/new')
    const seeded = await register(variant, { deviceToken: old })
    expect(seeded.status, await answerText(seeded)).toBe(200)

    const res = await register(
      variant,
      { deviceToken: renewed },
      { 'x-ag-old-token': base64(textBytes(JSON.stringify(old))) },
    )

    expect(res.status, await answerText(res)).toBe(200)
    const rows = await storedInstallations(variant.variantID)
    expect(rows.map((r) => r.token_key)).toEqual([renewed.endpoint])
  })

  it('removes nothing when the new registration is refused, nor in another variant', async () => {
    const app = await createApp()
    const variant = await createVariant(app.pushApplicationID, 'android')
    const sibling = await createVariant(app.pushApplicationID, 'android')
    const token = fcmToken()
    for (const v of [variant, sibling]) {
      const res = await register(v, { deviceToken: token })
      expect(res.status, await answerText(res)).toBe(200)
    }

    const refused = await register(variant, { deviceToken: 'short' }, { 'x-ag-old-token': token })
    expect(refused.status, await answerText(refused)).toBe(400)
    expect((await storedInstallations(variant.variantID)).map((r) => r.device_token)).toEqual([
      token,
    ])

    const moved = await register(variant, { deviceToken: fcmToken() }, { 'x-ag-old-token': token })
    expect(moved.status, await answerText(moved)).toBe(200)
    expect((await storedInstallations(sibling.variantID)).map((r) => r.device_token)).toEqual([
      token,
    ])
  })
})

describe('registration refusals', () => {
  it('answers no credentials, a wrong secret and an unknown variant with the same 401', async () => {
    const app = await createApp()
    const variant = await createVariant(app.pushApplicationID, 'android')
    const body = { deviceToken: fcmToken() }
    const attempts = [
      call('POST', '/rest/registry/device', { body, auth: null }),
      call('POST', '/rest/registry/device', { body, auth: basic(variant.variantID, 'wrong') }),
      call('POST', '/rest/registry/device', {
        body,
        auth: basic(crypto.randomUUID(), variant.secret),
      }),
      call('POST', '/rest/registry/device', { body, auth: `Basic ${variant.secret}` }),
      // The admin bearer and the application's master secret are not device credentials.
      call('POST', '/rest/registry/device', { body }),
      call('POST', '/rest/registry/device', {
        body,
        auth: basic(app.pushApplicationID, app.masterSecret),
      }),
    ]

    for (const res of await Promise.all(attempts)) {
      expect(res.status, await answerText(res)).toBe(401)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Basic realm="[^"]+"$/)
      expect(await res.json()).toEqual(UNAUTHORIZED)
    }
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it.each([
    ['malformed JSON', '{"deviceToken": "abc"', '(body)'],
    ['an empty body', '', '(body)'],
    ['an unknown field', { deviceToken: 'TOKEN', categories: ['ghost'], colour: 'red' }, 'colour'],
    [
      'categories that are not an array',
      { deviceToken: 'TOKEN', categories: 'ghost' },
      'categories',
    ],
    ['a category that is not a string', { deviceToken: 'TOKEN', categories: [7] }, 'categories.0'],
    ['no deviceToken', { alias: 'ghost', categories: ['ghost'] }, 'deviceToken'],
    ['a null deviceToken', { deviceToken: null, categories: ['ghost'] }, 'deviceToken'],
    ['an alias that is a number', { deviceToken: 'TOKEN', alias: 42 }, 'alias'],
    ['enabled as a string', { deviceToken: 'TOKEN', enabled: 'false' }, 'enabled'],
    ['an array body', ['TOKEN'], '(body)'],
  ])('refuses %s with 400 naming the field, writing nothing', async (_, input, field) => {
    const variant = await freshVariant('android')
    const token = fcmToken()
    const body =
      typeof input === 'string' ? input : JSON.parse(JSON.stringify(input).replace('TOKEN', token))

    const res = await register(variant, body)

    expect(res.status, await answerText(res)).toBe(400)
    const answer = await res.json<{ message: string; details: Record<string, string> }>()
    expect(answer.message).toEqual(expect.any(String))
    expect(answer.details).toHaveProperty([field])
    expect(JSON.stringify(answer)).not.toContain(token)
    expect(await storedInstallations(variant.variantID)).toEqual([])
    expect(await categoryExists('ghost')).toBe(false)
  })

  it('answers a body over 64 KB with 413, whether its length is declared or streamed', async () => {
    const variant = await freshVariant('android')
    const json = JSON.stringify({ deviceToken: fcmToken(), alias: 'x'.repeat(64 * 1024) })
    const declared = new Request('https://pushgate.test/rest/registry/device', {
      method: 'POST',
      headers: {
        Authorization: deviceAuth(variant),
        'Content-Type': 'application/json',
        'Content-Length': String(textBytes(json).length),
      },
      body: json,
    })
    const streamed = new Request('https://pushgate.test/rest/registry/device', {
      method: 'POST',
      headers: { Authorization: deviceAuth(variant), 'Content-Type': 'application/json' },
      body: new Blob([json]).stream(),
    })

    for (const request of [declared, streamed]) {
      const res = await exports.default.fetch(request)
      expect(res.status, await answerText(res)).toBe(413)
      expect(await res.json()).toEqual({ message: expect.stringMatching(/larger than 65536/) })
    }
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it('never registers with a secret of application A to a variant of application B', async () => {
    const appA = await createApp('A')
    const appB = await createApp('B')
    const variantA = await createVariant(appA.pushApplicationID, 'ios_token')
    const variantB = await createVariant(appB.pushApplicationID, 'ios_token')
    const token = iosToken()

    const crossed = await call('POST', '/rest/registry/device', {
      body: { deviceToken: token },
      auth: basic(variantB.variantID, variantA.secret),
    })
    const named = await register(variantA, { deviceToken: token, variantID: variantB.variantID })
    const own = await register(variantA, { deviceToken: token })

    expect(crossed.status, await answerText(crossed)).toBe(401)
    expect(named.status, await answerText(named)).toBe(400)
    expect(own.status, await answerText(own)).toBe(200)
    expect(await storedInstallations(variantB.variantID)).toEqual([])
    expect((await storedInstallations(variantA.variantID)).map((r) => r.device_token)).toEqual([
      token,
    ])
  })
})

describe('DELETE /rest/registry/device/{token}', () => {
  it('answers 204 and removes the row with its category links, then 404', async () => {
    const variant = await freshVariant('android')
    const token = fcmToken()
    const kept = fcmToken()
    for (const t of [token, kept]) {
      const res = await register(variant, { deviceToken: t, categories: ['news'] })
      expect(res.status, await answerText(res)).toBe(200)
    }
    const [gone] = (await storedInstallations(variant.variantID)).filter(
      (r) => r.device_token === token,
    )

    const first = await deleteToken(variant, token)
    const second = await deleteToken(variant, token)

    expect(first.status, await answerText(first)).toBe(204)
    expect(await first.text()).toBe('')
    expect(second.status, await answerText(second)).toBe(404)
    expect(await second.json()).toEqual({ message: expect.any(String) })
    expect((await storedInstallations(variant.variantID)).map((r) => r.device_token)).toEqual([
      kept,
    ])
    const { results } = await env.DB.prepare(
      'SELECT * FROM installation_categories WHERE installation_id = ?',
    )
      .bind(gone?.id ?? '')
      .all()
    expect(results).toEqual([])
  })

  it('deletes the stored lowercase iOS token when given in its spaced, upper-case form', async () => {
    const variant = await freshVariant('ios_token')
    const res = await register(variant, { deviceToken: CASE_1_HEX })
    expect(res.status, await answerText(res)).toBe(200)

    const deleted = await deleteToken(variant, CASE_1_TOKEN)

    expect(deleted.status, await answerText(deleted)).toBe(204)
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it('deletes a Web Push subscription given as base64, whatever its keys', async () => {
    const variant = await freshVariant('web_push')
    const endpoint = 'https://push.example.net/send/delete-me'
    const current = await realWebPushSubscription(endpoint)
    const res = await register(variant, { deviceToken: current })
    expect(res.status, await answerText(res)).toBe(200)
    const stale = await realWebPushSubscription(endpoint)

    const deleted = await deleteToken(variant, base64(textBytes(JSON.stringify(stale))))

    expect(deleted.status, await answerText(deleted)).toBe(204)
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it("answers 404 for a token of another variant and leaves that variant's row", async () => {
    const appA = await createApp('A')
    const appB = await createApp('B')
    const variant = await createVariant(appA.pushApplicationID, 'ios_token')
    const sibling = await createVariant(appA.pushApplicationID, 'ios_token')
    const foreign = await createVariant(appB.pushApplicationID, 'ios_token')
    const token = iosToken()
    for (const v of [sibling, foreign]) {
      const res = await register(v, { deviceToken: token })
      expect(res.status, await answerText(res)).toBe(200)
    }

    const deleted = await deleteToken(variant, token)
    const unauthorized = await deleteToken(foreign, token, basic(foreign.variantID, 'wrong'))

    expect(deleted.status, await answerText(deleted)).toBe(404)
    expect(unauthorized.status, await answerText(unauthorized)).toBe(401)
    expect(await unauthorized.json()).toEqual(UNAUTHORIZED)
    for (const v of [sibling, foreign]) {
      const rows = await storedInstallations(v.variantID)
      expect(rows.map((r) => r.device_token)).toEqual([token])
    }
  })

  it('answers 404 for a token this variant could never hold', async () => {
    const variant = await freshVariant('ios_token')

    const res = await deleteToken(variant, '(null)')

    expect(res.status, await answerText(res)).toBe(404)
  })
})

type ImportAnswer = {
  imported: number
  updated: number
  rejected: number
  errors: { index: number; details: Record<string, string> }[]
}

describe('POST /rest/registry/device/importer', () => {
  it('counts new, existing and invalid rows, stores categories and writes no invalid row', async () => {
    const variant = await freshVariant('ios_token')
    const [existing, renamed, fresh, twice] = [iosToken(), iosToken(), iosToken(), iosToken()]
    for (const token of [existing, renamed]) {
      const res = await register(variant, { deviceToken: token, categories: ['old'] })
      expect(res.status, await answerText(res)).toBe(200)
    }
    const spaced = (token = '') => `<${token.toUpperCase().replace(/(.{8})(?!$)/g, '$1 ')}>`

    const rows = [
      { deviceToken: fresh, alias: 'fresh', categories: ['news', 'sport'] },
      { deviceToken: spaced(existing), alias: 'existing', categories: ['alerts'] },
      { deviceToken: '(null)', categories: ['import-ghost'] },
      { deviceToken: twice, alias: 'twice-1', categories: ['news'] },
      { deviceToken: fresh.slice(1), alias: 'odd' },
      { deviceToken: renamed, alias: 'renamed', unknown: true },
      42,
      { deviceToken: twice, alias: 'twice-2', enabled: false },
      { deviceToken: renamed, alias: 'renamed' },
    ]

    const res = await importFile(variant, rows)

    expect(res.status, await answerText(res)).toBe(200)
    const answer = await res.json<ImportAnswer>()
    // fresh and twice are new; existing, renamed and the second twice update a row.
    expect(answer).toMatchObject({ imported: 2, updated: 3, rejected: 4 })
    expect(answer.imported + answer.updated + answer.rejected).toBe(rows.length)
    expect(answer.errors.map((e) => e.index)).toEqual([2, 4, 5, 6])
    expect(Object.keys(answer.errors[0]?.details ?? {})).toEqual(['deviceToken'])
    expect(Object.keys(answer.errors[1]?.details ?? {})).toEqual(['deviceToken'])
    expect(answer.errors[2]?.details).toEqual({ unknown: 'unknown field' })

    const stored = await storedInstallations(variant.variantID)
    const byToken = new Map(stored.map((r) => [r.device_token, r]))
    expect([...byToken.keys()].sort()).toEqual([existing, renamed, fresh, twice].sort())
    expect(byToken.get(fresh)).toMatchObject({ alias: 'fresh', categories: ['news', 'sport'] })
    expect(byToken.get(existing)).toMatchObject({ alias: 'existing', categories: ['alerts'] })
    expect(byToken.get(renamed)).toMatchObject({ alias: 'renamed', categories: [] })
    expect(byToken.get(twice)).toMatchObject({ alias: 'twice-2', enabled: 0, categories: [] })
    expect(await categoryExists('import-ghost')).toBe(false)
  })

  it('imports a web push file of 600 rows with categories in one request', async () => {
    const variant = await freshVariant('web_push')
    const sets = [['news'], ['news', 'sport'], [], ['weather', 'sport', 'news']]
    const rows = await Promise.all(
      Array.from({ length: 600 }, async (_, i) => ({
        deviceToken: await realWebPushSubscription(`https://push.example.net/bulk/${i}`),
        alias: `user-${i}@example.com`,
        categories: sets[i % sets.length],
      })),
    )

    const res = await importFile(variant, rows)

    expect(res.status, await answerText(res)).toBe(200)
    expect(await res.json()).toEqual({ imported: 600, updated: 0, rejected: 0, errors: [] })
    const stored = await storedInstallations(variant.variantID)
    expect(stored).toHaveLength(600)
    const byAlias = new Map(stored.map((r) => [r.alias, r]))
    for (const [i, row] of rows.entries()) {
      const found = byAlias.get(`user-${i}@example.com`)
      expect(JSON.parse(found?.device_token ?? '')).toEqual(row.deviceToken)
      expect(found?.categories).toEqual([...(row.categories ?? [])].sort())
    }
  })

  it('takes 1000 iOS rows, each with its own categories, and re-imports them as updates', async () => {
    const variant = await freshVariant('ios_token')
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      deviceToken: iosToken(),
      alias: `device-${i}`,
      categories: [`topic-${i}`, `group-${i % 7}`],
    }))

    const first = await importFile(variant, rows)
    const again = await importFile(
      variant,
      rows.map((r) => ({ ...r, categories: ['all'] })),
    )

    expect(first.status, await answerText(first)).toBe(200)
    expect(await first.json()).toEqual({ imported: 1000, updated: 0, rejected: 0, errors: [] })
    expect(again.status, await answerText(again)).toBe(200)
    expect(await again.json()).toEqual({ imported: 0, updated: 1000, rejected: 0, errors: [] })
    const stored = await storedInstallations(variant.variantID)
    expect(stored).toHaveLength(1000)
    expect(stored.every((r) => r.categories.length === 1 && r.categories[0] === 'all')).toBe(true)
    expect(new Set(stored.map((r) => r.device_token))).toEqual(
      new Set(rows.map((r) => r.deviceToken)),
    )
  })

  it('reports at most 100 errors but counts every rejected row', async () => {
    const variant = await freshVariant('android')
    const rows = Array.from({ length: 150 }, (_, i) => ({ deviceToken: `bad-${i}` }))

    const res = await importFile(variant, rows)

    expect(res.status, await answerText(res)).toBe(200)
    const answer = await res.json<ImportAnswer>()
    expect(answer).toMatchObject({ imported: 0, updated: 0, rejected: 150 })
    expect(answer.errors.map((e) => e.index)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  const formWith = (part: string, text: string) => {
    const form = new FormData()
    form.append(part, new Blob([text], { type: 'application/json' }), 'devices.json')
    return form
  }
  it.each([
    ['a JSON body instead of multipart', JSON.stringify([{ deviceToken: CASE_1_HEX }]), null],
    [
      'multipart without a file part',
      formWith('other', JSON.stringify([{ deviceToken: CASE_1_HEX }])),
      'file',
    ],
    ['a file that is not JSON', formWith('file', `[{"deviceToken": "${CASE_1_HEX}"}`), 'file'],
    [
      'a file holding an object',
      formWith('file', JSON.stringify({ deviceToken: CASE_1_HEX })),
      'file',
    ],
    [
      'a file of 1001 rows',
      formWith(
        'file',
        JSON.stringify(
          Array.from({ length: 1001 }, () => ({
            deviceToken: iosToken(),
          })),
        ),
      ),
      'file',
    ],
  ])('refuses %s with 400, writing nothing', async (_, body, field) => {
    const variant = await freshVariant('ios_token')
    const headers: Record<string, string> = { Authorization: deviceAuth(variant) }
    if (typeof body === 'string') headers['Content-Type'] = 'application/json'

    const res = await exports.default.fetch(
      new Request('https://pushgate.test/rest/registry/device/importer', {
        method: 'POST',
        headers,
        body,
      }),
    )

    expect(res.status, await answerText(res)).toBe(400)
    const answer = await res.json<{ message: string; details?: Record<string, string> }>()
    expect(answer.message).toEqual(expect.any(String))
    if (field) expect(Object.keys(answer.details ?? {})).toEqual([field])
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it('answers a file over 5 MB with 413 and writes nothing', async () => {
    const variant = await freshVariant('ios_token')
    // Rows that would each be valid without the limit: 21 categories of 255 characters.
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      deviceToken: iosToken(),
      categories: Array.from({ length: 21 }, (_, j) => `${i}-${j}-`.padEnd(255, 'x')),
    }))
    expect(JSON.stringify(rows).length).toBeGreaterThan(5 * 1024 * 1024)

    const res = await importFile(variant, rows)

    expect(res.status, await answerText(res)).toBe(413)
    expect(await res.json()).toEqual({ message: expect.any(String) })
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })

  it('answers an import without device credentials with 401', async () => {
    const variant = await freshVariant('ios_token')
    const form = new FormData()
    form.append('file', new Blob([JSON.stringify([{ deviceToken: CASE_1_HEX }])]), 'f.json')

    const res = await importFile({ variantID: variant.variantID, secret: 'wrong' }, form)

    expect(res.status, await answerText(res)).toBe(401)
    expect(await res.json()).toEqual(UNAUTHORIZED)
    expect(await storedInstallations(variant.variantID)).toEqual([])
  })
})
