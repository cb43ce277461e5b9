/**
 * Shared by the application and variant tests: real credentials made with jose, device tokens
 * each variant type accepts, an independent opener for sealed columns, and a recorder that keeps
 * the text of every response so a test file can prove no secret ever left the Worker.
 */
import { env } from 'cloudflare:workers'
import { base64url, exportPKCS8, generateKeyPair } from 'jose'
import { expect } from 'vitest'
import { generateVapidKeys } from '../../src/networks/webpush/vapid-keys'
import { basic, call } from '../helpers'

export type Json = Record<string, unknown>

/** A PKCS#8 PEM of a fresh key: what Apple (.p8, ES256) or Google (RS256) hand out. */
export async function privatePem(alg: 'ES256' | 'RS256'): Promise<string> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true })
  return exportPKCS8(privateKey)
}

/** The base64 lines of a PEM, without its BEGIN and END lines: what must never be echoed. */
export const pemBodyLines = (pem: string) =>
  pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'))

export function serviceAccount(privateKey: string, projectId = 'pushgate-fcm-test') {
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'c0ffee0123456789',
    private_key: privateKey,
    client_email: `sender@${projectId}.iam.gserviceaccount.com`,
    client_id: '109876543210987654321',
    token_uri: 'https://oauth2.googleapis.com/token',
  }
}

export { generateVapidKeys }

/** Apple ids are ten capital letters or digits. */
export function appleId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const bytes = crypto.getRandomValues(new Uint8Array(10))
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** A device token of the form each variant type accepts at registration. */
export async function deviceToken(type: string): Promise<unknown> {
  if (type === 'ios_token') return hex(crypto.getRandomValues(new Uint8Array(32)))
  if (type === 'android') {
    return `fcm:${base64url.encode(crypto.getRandomValues(new Uint8Array(120)))}`
  }
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair
  const point = new Uint8Array(
    (await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer,
  )
  return {
    endpoint: `https://push.example.net/wp/${crypto.randomUUID()}`,
    keys: {
      p256dh: base64url.encode(point),
      auth: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    },
  }
}

/** Registers one device with the registry API, as the variant's app would. */
export async function registerDevice(
  api: Recorder['api'],
  variant: { variantID: string; secret: string; type: string },
) {
  return api('POST', '/rest/registry/device', {
    auth: basic(variant.variantID, variant.secret),
    body: { deviceToken: await deviceToken(variant.type), alias: 'someone@example.org' },
  })
}

/** Opens a `v1.<iv>.<ciphertext>` column with WebCrypto alone, not with the Worker's code. */
export async function openSealed(sealed: string, aad: string): Promise<string> {
  const [version, iv, ciphertext] = sealed.split('.')
  if (version !== 'v1' || !iv || !ciphertext) throw new Error(`not a v1 sealed value: ${sealed}`)
  const raw = Uint8Array.from(atob(env.CREDENTIALS_KEY), (c) => c.charCodeAt(0))
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt'])
  const params = {
    name: 'AES-GCM',
    iv: base64url.decode(iv),
    additionalData: new TextEncoder().encode(aad),
  }
  const plain = await crypto.subtle.decrypt(params, key, base64url.decode(ciphertext))
  return new TextDecoder().decode(plain)
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return hex(new Uint8Array(digest))
}

/** One row, or null, straight from D1. */
export function row(sql: string, ...params: unknown[]) {
  return env.DB.prepare(sql)
    .bind(...params)
    .first<Json>()
}

export async function countRows(sql: string, ...params: unknown[]): Promise<number> {
  const found = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>()
  return found?.n ?? 0
}

const inList = (ids: string[]) => `(${ids.map(() => '?').join(', ')})`

/** Rows of `table` whose `column` is one of `ids`. */
export const countIn = (table: string, column: string, ids: string[]) =>
  countRows(`SELECT count(*) AS n FROM ${table} WHERE ${column} IN ${inList(ids)}`, ...ids)

/** The ids of the installations of these variants (internal ids). */
export async function installationIds(variantIds: string[]): Promise<string[]> {
  const found = await env.DB.prepare(
    `SELECT id FROM installations WHERE variant_id IN ${inList(variantIds)}`,
  )
    .bind(...variantIds)
    .all<{ id: string }>()
  return found.results.map((r) => r.id)
}

/** Field names of credentials: none may appear in a successful answer. */
const WRITE_ONLY_FIELDS = ['privateKey', 'private_key', 'serviceAccount', 'masterSecretHash']

function fieldNames(value: unknown, into: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) fieldNames(item, into)
  else if (typeof value === 'object' && value !== null) {
    for (const [name, inner] of Object.entries(value)) {
      into.push(name)
      fieldNames(inner, into)
    }
  }
  return into
}

/** Asserts the API's one error shape: `{ message, details? }`, details naming fields. */
export function expectErrorShape(body: unknown) {
  expect(body).toBeTypeOf('object')
  const error = body as Json
  expect(Object.keys(error).every((k) => k === 'message' || k === 'details')).toBe(true)
  expect(error.message).toBeTypeOf('string')
  if (error.details !== undefined) {
    for (const sentence of Object.values(error.details as Json)) {
      expect(sentence).toBeTypeOf('string')
    }
  }
}

type Recorded = { label: string; text: string; reveals: string | null }

/**
 * Wraps `call`: keeps every response's text, checks 5xx never happens, 4xx answers use the
 * error shape, 2xx answers name no credential field. `leaks()` then lists every recorded
 * response holding a secret outside the one answer allowed to reveal it.
 */
export function recorder() {
  const responses: Recorded[] = []
  const secrets = new Set<string>()
  const masterSecrets = new Set<string>()

  async function api(
    method: string,
    path: string,
    init: Parameters<typeof call>[2] & { reveals?: 'masterSecret' } = {},
  ) {
    const res = await call(method, path, init)
    const text = await res.text()
    const label = `${method} ${path} -> ${res.status}`
    let body: unknown = null
    if (text !== '' && res.headers.get('Content-Type')?.includes('application/json')) {
      body = JSON.parse(text)
    }
    expect(res.status, label).toBeLessThan(500)
    if (res.status >= 400) expectErrorShape(body)
    if (res.status < 300) {
      expect(
        fieldNames(body).filter((n) => WRITE_ONLY_FIELDS.includes(n)),
        label,
      ).toEqual([])
    }
    let reveals: string | null = null
    if (init.reveals === 'masterSecret' && res.status < 300) {
      reveals = String((body as Json).masterSecret)
      masterSecrets.add(reveals)
    }
    responses.push({ label, text, reveals })
    const items = (Array.isArray(body) ? body : []) as Json[]
    return { res, status: res.status, headers: res.headers, text, body: body as Json, items }
  }

  /** Records a secret: a PEM is recorded line by line, since JSON escapes its newlines. */
  function secret(value: string) {
    const lines = value.includes('-----BEGIN') ? pemBodyLines(value) : [value]
    for (const line of lines) secrets.add(line)
  }

  function leaks(): string[] {
    const found: string[] = []
    for (const { label, text, reveals } of responses) {
      const plain = text.replaceAll('\\/', '/')
      for (const s of secrets) if (plain.includes(s)) found.push(`${label} shows a credential`)
      for (const m of masterSecrets) {
        if (m !== reveals && plain.includes(m)) found.push(`${label} shows a master secret`)
      }
    }
    return found
  }

  return { api, secret, leaks, count: () => responses.length }
}

export type Recorder = ReturnType<typeof recorder>

/** A variant's row with its sealed columns opened. */
export async function storedVariant(id: string) {
  const stored = await row('SELECT * FROM variants WHERE id = ?', id)
  if (!stored) return null
  const secret = await openSealed(String(stored.secret_sealed), `variant:${id}:secret`)
  const credentials = JSON.parse(
    await openSealed(String(stored.credentials_sealed), `variant:${id}:credentials`),
  ) as Json
  return { row: stored, secret, credentials, settings: JSON.parse(String(stored.settings)) as Json }
}

/** The private key a stored variant signs with, whatever its type. */
export function storedPrivateKey(credentials: Json): string {
  const account = credentials.serviceAccount as Json | undefined
  return String(account ? account.private_key : credentials.privateKey)
}

/** True when the VAPID private scalar belongs to the public point: WebCrypto sign and verify. */
export async function vapidPairMatches(publicKey: string, privateKey: string): Promise<boolean> {
  const point = base64url.decode(publicKey)
  if (point.byteLength !== 65 || point[0] !== 0x04) return false
  const x = base64url.encode(point.subarray(1, 33))
  const y = base64url.encode(point.subarray(33))
  const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' }
  const jwk = { kty: 'EC', crv: 'P-256', x, y, d: privateKey }
  const signing = await crypto.subtle.importKey('jwk', jwk, ecdsa, false, ['sign'])
  const verifying = await crypto.subtle.importKey('raw', point, ecdsa, false, ['verify'])
  const data = new TextEncoder().encode('pair check')
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signing, data)
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifying, signature, data)
}
