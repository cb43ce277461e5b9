/**
 * Setup shared by the HTTP tests: applications and variants made through the admin API, as an
 * operator would, and browser-like Web Push subscriptions with real P-256 keys.
 *
 * D1 state lives as long as one test file (every file starts from an empty, migrated database,
 * and tests of one file see each other's rows), so a test makes its own application and variants
 * and never counts rows it did not make.
 */
import { env, exports } from 'cloudflare:workers'
import { exportPKCS8, generateKeyPair } from 'jose'
import { expect } from 'vitest'
import { basic, call } from '../helpers'

export type VariantType = 'android' | 'ios_token' | 'web_push'

/** The fields of an admin answer for a variant that the tests use. */
export type CreatedVariant = {
  id: string
  variantID: string
  secret: string
  type: VariantType
  [field: string]: unknown
}

export type CreatedApp = {
  id: string
  pushApplicationID: string
  masterSecret: string
  [field: string]: unknown
}

export const VAPID_SUBJECT = 'mailto:ops@example.com'

/** Creates an application through the admin API and returns its answer. */
export async function createApp(name = 'Test app'): Promise<CreatedApp> {
  const res = await call('POST', '/rest/applications', { body: { name } })
  expect(res.status, await answerText(res)).toBe(201)
  return res.json()
}

/** Creates a variant of `type` with valid credentials under the application `pushAppId`. */
export async function createVariant(pushAppId: string, type: VariantType): Promise<CreatedVariant> {
  const res = await call('POST', `/rest/applications/${pushAppId}/${type}`, {
    body: await variantBody(type),
  })
  expect(res.status, await answerText(res)).toBe(201)
  return res.json()
}

/** A valid creation body for each type; keys are made once per test file. */
export async function variantBody(type: VariantType): Promise<Record<string, unknown>> {
  switch (type) {
    case 'web_push':
      return { name: 'web', alias: VAPID_SUBJECT }
    case 'ios_token':
      return {
        name: 'ios',
        privateKey: await apnsKey(),
        keyId: 'ABCDE12345',
        teamId: 'TEAM123456',
        bundleId: 'com.example.app',
      }
    case 'android':
      return {
        name: 'android',
        serviceAccount: {
          type: 'service_account',
          project_id: 'pushgate-test',
          client_email: 'fcm@pushgate-test.iam.gserviceaccount.com',
          private_key: await fcmKey(),
          token_uri: 'https://oauth2.googleapis.com/token',
        },
      }
  }
}

let apnsPem: Promise<string> | undefined
let fcmPem: Promise<string> | undefined

function apnsKey() {
  apnsPem ??= pkcs8('ES256')
  return apnsPem
}

function fcmKey() {
  fcmPem ??= pkcs8('RS256')
  return fcmPem
}

async function pkcs8(alg: 'ES256' | 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  return exportPKCS8(privateKey)
}

export type WebPushSubscription = { endpoint: string; keys: { p256dh: string; auth: string } }

/**
 * A subscription as a browser's `PushSubscription.toJSON()` gives it: a fresh P-256 ECDH public
 * key (65-byte uncompressed point) and a 16-byte auth secret, both base64url without padding.
 */
export async function realWebPushSubscription(endpoint: string): Promise<WebPushSubscription> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ])
  if (!('publicKey' in pair)) throw new Error('ECDH generateKey returned a single key')
  const raw = await crypto.subtle.exportKey('raw', pair.publicKey)
  if (!(raw instanceof ArrayBuffer)) throw new Error('raw export is not an ArrayBuffer')
  const auth = crypto.getRandomValues(new Uint8Array(16))
  return { endpoint, keys: { p256dh: base64url(new Uint8Array(raw)), auth: base64url(auth) } }
}

/** Standard base64, written here rather than taken from the code under test. */
export function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
}

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** Status and body of an answer, for assertion messages; reads a clone. */
export async function answerText(res: Response): Promise<string> {
  return `${res.status} ${await res.clone().text()}`
}

/** HTTP Basic credentials of a variant, as a device sends them. */
export function deviceAuth(variant: { variantID: string; secret: string }): string {
  return basic(variant.variantID, variant.secret)
}

/** `POST /rest/registry/device` as the variant's devices call it. */
export function register(
  variant: { variantID: string; secret: string },
  body: unknown,
  headers: Record<string, string> = {},
) {
  return call('POST', '/rest/registry/device', { body, headers, auth: deviceAuth(variant) })
}

/**
 * `POST /rest/registry/device/importer` with a multipart body whose part `file` holds `content`
 * (rows are sent as their JSON). Goes around `call`, which only sends JSON bodies.
 */
export function importFile(
  variant: { variantID: string; secret: string },
  content: unknown[] | string | FormData,
) {
  let body: FormData
  if (content instanceof FormData) body = content
  else {
    body = new FormData()
    const text = typeof content === 'string' ? content : JSON.stringify(content)
    body.append('file', new Blob([text], { type: 'application/json' }), 'devices.json')
  }
  return exports.default.fetch(
    new Request('https://pushgate.test/rest/registry/device/importer', {
      method: 'POST',
      headers: { Authorization: deviceAuth(variant) },
      body,
    }),
  )
}

/** A fresh, valid device token of each type; Web Push gets a subscription object. */
export async function newDeviceToken(type: VariantType): Promise<string | WebPushSubscription> {
  switch (type) {
    case 'ios_token':
      return hex(crypto.getRandomValues(new Uint8Array(32)))
    case 'android':
      return fcmToken()
    case 'web_push':
      return realWebPushSubscription(`https://push.example.net/send/${crypto.randomUUID()}`)
  }
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

const FCM_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:'

/** An FCM registration token: `length` characters of letters, digits and `-_:`. */
export function fcmToken(length = 152): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  return Array.from(bytes, (b) => FCM_ALPHABET[b % FCM_ALPHABET.length]).join('')
}

/** An installation row as D1 holds it, with its category names sorted. */
export type StoredInstallation = {
  id: string
  device_token: string
  token_key: string
  alias: string | null
  device_type: string | null
  operating_system: string | null
  os_version: string | null
  platform: string | null
  enabled: number
  created_at: number
  updated_at: number
  categories: string[]
}

/** Every installation row of a variant (by its public variantID), straight from D1. */
export async function storedInstallations(variantID: string): Promise<StoredInstallation[]> {
  const { results } = await env.DB.prepare(
    `SELECT i.* FROM installations i JOIN variants v ON v.id = i.variant_id
     WHERE v.variant_id = ? ORDER BY i.created_at, i.id`,
  )
    .bind(variantID)
    .all<Omit<StoredInstallation, 'categories'>>()
  const links = await env.DB.prepare(
    `SELECT ic.installation_id AS id, c.name FROM installation_categories ic
     JOIN categories c ON c.id = ic.category_id
     JOIN installations i ON i.id = ic.installation_id
     JOIN variants v ON v.id = i.variant_id
     WHERE v.variant_id = ? ORDER BY c.name`,
  )
    .bind(variantID)
    .all<{ id: string; name: string }>()
  return results.map((row) => ({
    ...row,
    categories: links.results.filter((l) => l.id === row.id).map((l) => l.name),
  }))
}

/** Whether a category name exists at all, in any variant. */
export async function categoryExists(name: string): Promise<boolean> {
  const row = await env.DB.prepare('SELECT 1 AS found FROM categories WHERE name = ?')
    .bind(name)
    .first()
  return row !== null
}
