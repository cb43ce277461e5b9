/**
 * What the worker tests use to drive the fake FCM (test/fakes/fcm.ts) from inside workerd:
 * service accounts registered with it, its control API, realistic registration tokens, and an
 * in-memory stand-in for the D1-shared token cache of `AdapterContext.sharedToken`.
 */
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose'
import { inject } from 'vitest'
import type { ServiceAccount } from '../../src/networks/fcm/service-account'
import type { RecordedMessage } from './fcm'

export const fcmUrl = () => inject('fcmUrl')

/** Put in the path of a request a test sends to no route on purpose. */
export const DELIBERATE = 'deliberately-unexpected'

type KeyPair = { privatePem: string; publicPem: string }
let keys: Promise<KeyPair> | undefined

// One RSA key for the whole file: generating 2048-bit keys is slow, and accounts are told
// apart by their client_email, not by their key.
function sharedKeys(): Promise<KeyPair> {
  keys ??= generateKeyPair('RS256', { extractable: true }).then(async (pair) => ({
    privatePem: await exportPKCS8(pair.privateKey),
    publicPem: await exportSPKI(pair.publicKey),
  }))
  return keys
}

/**
 * A service account the fake knows, with a project of its own so that tests running at the same
 * time never share state. `register: false` gives an account the fake has never heard of.
 */
export async function newAccount(
  opts: { keyId?: string; register?: boolean; publicPem?: string } = {},
): Promise<ServiceAccount> {
  const { privatePem, publicPem } = await sharedKeys()
  const id = crypto.randomUUID().slice(0, 8)
  const account: ServiceAccount = {
    type: 'service_account',
    project_id: `pushgate-${id}`,
    client_email: `fcm-${id}@pushgate-${id}.iam.gserviceaccount.com`,
    private_key: privatePem,
    private_key_id: opts.keyId,
    token_uri: `${fcmUrl()}/token`,
  }
  if (opts.register !== false) {
    await control('POST', '/_accounts', {
      client_email: account.client_email,
      project_id: account.project_id,
      public_key: opts.publicPem ?? publicPem,
      key_id: opts.keyId,
    })
  }
  return account
}

/** A registration token shaped like FCM's; the fake reads its behaviour from the first word. */
export function fcmToken(behaviour = 'ok'): string {
  const random = crypto.randomUUID().replaceAll('-', '')
  return `${behaviour}-${random}:APA91b${'x'.repeat(120)}`
}

export async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${fcmUrl()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`fake FCM ${method} ${path}: ${response.status}`)
  return response.status === 204 ? undefined : response.json()
}

export const fake = {
  messages: (project: string) =>
    control('GET', `/_messages?project=${project}`) as Promise<RecordedMessage[]>,
  stats: (account: ServiceAccount) =>
    control(
      'GET',
      `/_stats?project=${account.project_id}&client_email=${account.client_email}`,
    ) as Promise<{ mints: number; sends: number; maxInFlight: number }>,
  /** Requests no route of the fake matched, but for those a test makes on purpose. */
  unexpected: async () => {
    const all = (await control('GET', '/_unexpected')) as { method: string; path: string }[]
    return all.filter((r) => !r.path.includes(DELIBERATE))
  },
  revoke: (account: ServiceAccount, opts: { forever?: boolean } = {}) =>
    control('POST', '/_revoke', { client_email: account.client_email, forever: opts.forever }),
  behaviour: (token: string, behaviour: string) =>
    control('POST', '/_behaviours', { token, behaviour }),
  delay: (project: string, delayMs: number) =>
    control('POST', '/_projects', { project_id: project, delay_ms: delayMs }),
  clock: (account: ServiceAccount, now: number | null) =>
    control('POST', '/_clock', { client_email: account.client_email, now }),
}

export {
  EXPIRY_MARGIN_MS,
  type MemoryTokenCache,
  memoryTokenCache,
  testContext,
} from './memory-token-cache'
