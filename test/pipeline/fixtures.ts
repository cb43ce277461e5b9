/**
 * Setup shared by the pipeline tests: applications, variants and devices made through the public
 * API with the driver's env (so that `http:` fakes are allowed), subscriptions handed out by the
 * fake push service, FCM service accounts the fake FCM knows, and D1 reads of what a send left.
 */
import { env } from 'cloudflare:workers'
import { expect, inject } from 'vitest'
import type { ServiceAccount } from '../../src/networks/fcm/service-account'
import { newAccount } from '../fakes/fcm-client'
import type { Behaviour, Delivery } from '../fakes/webpush'
import { ADMIN_TOKEN, basic } from '../helpers'
import type { Pipeline } from './driver'

export const WEB_PUSH_FAKE = inject('webPushFakeUrl')

export type App = { id: string; pushApplicationID: string; masterSecret: string }
export type Variant = { id: string; variantID: string; secret: string; type: string }
export type Subscription = { endpoint: string; keys: { p256dh: string; auth: string } }

type Init = { body?: unknown; auth?: string | null; headers?: Record<string, string> }

/** A JSON request through the driver's app; `auth` defaults to the admin bearer. */
export async function api(p: Pipeline, method: string, path: string, init: Init = {}) {
  const headers: Record<string, string> = { ...init.headers }
  const auth = init.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : init.auth
  if (auth) headers.Authorization = auth
  let body: string | undefined
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
    headers['Content-Type'] ??= 'application/json'
  }
  return p.request(path, { method, headers, body })
}

async function created<T>(res: Response): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(201)
  return res.json<T>()
}

export async function createApp(p: Pipeline, name = 'pipeline'): Promise<App> {
  return created(await api(p, 'POST', '/rest/applications', { body: { name } }))
}

export async function webPushVariant(p: Pipeline, app: App): Promise<Variant> {
  const body = { name: 'web', alias: 'mailto:ops@example.com' }
  return created(
    await api(p, 'POST', `/rest/applications/${app.pushApplicationID}/web_push`, { body }),
  )
}

/** An android variant whose service account the fake FCM knows (or `account` as given). */
export async function androidVariant(
  p: Pipeline,
  app: App,
  account?: ServiceAccount,
): Promise<Variant & { account: ServiceAccount }> {
  const serviceAccount = account ?? (await newAccount())
  const path = `/rest/applications/${app.pushApplicationID}/android`
  const variant = await created<Variant>(
    await api(p, 'POST', path, { body: { name: 'android', serviceAccount } }),
  )
  return { ...variant, account: serviceAccount }
}

export async function iosVariant(p: Pipeline, app: App): Promise<Variant> {
  const { exportPKCS8, generateKeyPair } = await import('jose')
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const body = {
    name: 'ios',
    privateKey: await exportPKCS8(privateKey),
    keyId: 'ABCDE12345',
    teamId: 'TEAM123456',
    bundleId: 'com.example.app',
  }
  return created(
    await api(p, 'POST', `/rest/applications/${app.pushApplicationID}/ios_token`, { body }),
  )
}

/** A subscription from the fake push service, made to answer with `behaviour`. */
export async function subscribe(
  behaviour: Behaviour = 'ok',
  extra: { failures?: number } = {},
): Promise<Subscription> {
  const res = await fetch(`${WEB_PUSH_FAKE}/_subscribe`, {
    method: 'POST',
    body: JSON.stringify({ behaviour, ...extra }),
  })
  expect(res.status).toBe(201)
  return res.json()
}

/** Every push the fake push service got for `endpoint`, in order. */
export async function deliveries(endpoint: string): Promise<Delivery[]> {
  const res = await fetch(`${WEB_PUSH_FAKE}/_deliveries?endpoint=${encodeURIComponent(endpoint)}`)
  return res.json()
}

export type Device = {
  alias?: string
  deviceType?: string
  categories?: string[]
  enabled?: boolean
}

/** Registers a device as the variant's app would; answers the stored installation's id. */
export async function register(
  p: Pipeline,
  variant: Variant,
  deviceToken: unknown,
  device: Device = {},
): Promise<string> {
  const res = await api(p, 'POST', '/rest/registry/device', {
    auth: basic(variant.variantID, variant.secret),
    body: { deviceToken, ...device },
  })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json<{ id: string }>()).id
}

/** `POST /rest/sender` as the application's backend. */
export function send(p: Pipeline, app: App, body: unknown, headers: Record<string, string> = {}) {
  return api(p, 'POST', '/rest/sender', {
    auth: basic(app.pushApplicationID, app.masterSecret),
    body,
    headers,
  })
}

/** Sends, expects 202, and answers the job id. */
export async function accepted(p: Pipeline, app: App, body: unknown): Promise<string> {
  const res = await send(p, app, body)
  expect(res.status, await res.clone().text()).toBe(202)
  return (await res.json<{ id: string }>()).id
}

export type JobRow = {
  id: string
  application_id: string
  raw_json_message: string
  payload: string | null
  total_receivers: number
  status: string
}

export async function jobRow(id: string) {
  return env.DB.prepare('SELECT * FROM push_jobs WHERE id = ?').bind(id).first<JobRow>()
}

export async function jobCount(applicationId: string) {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM push_jobs WHERE application_id = ?')
    .bind(applicationId)
    .first<{ n: number }>()
  return row?.n ?? 0
}

/** The counters of one (job, variant), by the variant's public id. */
export async function counters(jobId: string, variant: Variant) {
  return env.DB.prepare('SELECT * FROM job_variants WHERE job_id = ? AND variant_id = ?')
    .bind(jobId, variant.id)
    .first<{
      receivers: number
      delivered: number
      failed: number
      invalid_tokens: number
      pending: number
      planned: number
      reason: string | null
    }>()
}

export async function reasons(jobId: string, variant: Variant): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    'SELECT reason, count FROM job_reasons WHERE job_id = ? AND variant_id = ?',
  )
    .bind(jobId, variant.id)
    .all<{ reason: string; count: number }>()
  return Object.fromEntries(results.map((r) => [r.reason, r.count]))
}

export async function installationExists(id: string): Promise<boolean> {
  const row = await env.DB.prepare('SELECT 1 AS found FROM installations WHERE id = ?')
    .bind(id)
    .first()
  return row !== null
}

/**
 * Inserts `count` enabled installations straight into D1 (registering a thousand devices through
 * the API would take most of a test's time); `token(i)` gives each its device token.
 */
export async function insertInstallations(
  variant: Variant,
  count: number,
  token: (i: number) => string,
  alias: (i: number) => string | null = () => null,
): Promise<string[]> {
  const ids: string[] = []
  const statements: D1PreparedStatement[] = []
  const now = Date.now()
  for (let i = 0; i < count; i++) {
    const id = crypto.randomUUID()
    ids.push(id)
    statements.push(
      env.DB.prepare(
        `INSERT INTO installations (id, variant_id, device_token, token_key, alias, enabled, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, ?)`,
      ).bind(id, variant.id, token(i), token(i), alias(i), now),
    )
  }
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200))
  return ids
}
