/**
 * What the worker tests use to drive the fake APNs (test/fakes/apns.ts) from inside workerd:
 * teams registered with it (a fresh P-256 key each), its control API, realistic device tokens,
 * and an in-memory stand-in for the D1-shared token cache of `AdapterContext.sharedToken`.
 */
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose'
import { inject } from 'vitest'
import type { ApnsVariant } from '../../src/networks/apns/adapter'
import type { Behaviour, H2Options, RecordedNotification } from './apns'

export const apnsUrl = () => inject('apnsUrl')
export const apnsH2Url = () => inject('apnsH2Url')

export type TestTeam = ApnsVariant & { publicKey: string }

const appleId = () => crypto.randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()

/**
 * A team the fake knows, with its own .p8 key, key id and bundle id, so that tests running at
 * the same time never share state. `register: false` gives a team the fake has never heard of.
 */
export async function newTeam(
  opts: { register?: boolean; maxTokenAgeS?: number; production?: boolean } = {},
): Promise<TestTeam> {
  const pair = await generateKeyPair('ES256', { extractable: true })
  const teamId = appleId()
  const team: TestTeam = {
    teamId,
    keyId: appleId(),
    bundleId: `com.example.t${teamId.toLowerCase()}`,
    production: opts.production ?? false,
    privateKey: await exportPKCS8(pair.privateKey),
    publicKey: await exportSPKI(pair.publicKey),
  }
  if (opts.register !== false) {
    await control('POST', '/_teams', {
      teamId: team.teamId,
      keyId: team.keyId,
      publicKey: team.publicKey,
      bundleId: team.bundleId,
      maxTokenAgeS: opts.maxTokenAgeS,
    })
  }
  return team
}

/** A device token as registration stores it: 32 random bytes in lowercase hex. */
export function deviceToken(bytes = 32): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes))
  return Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')
}

export async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${apnsUrl()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`fake APNs ${method} ${path}: ${response.status}`)
  return response.status === 204 ? undefined : response.json()
}

export type FakeStats = {
  providerTokens: number
  requests: number
  maxInFlight: number
  answers: Record<string, number>
}

export const fake = {
  /** Makes `token` answer with `behaviour` (timestamp: the 410's, ms; retryAfter: the 429's). */
  device: (
    token: string,
    behaviour: Behaviour,
    extra: { timestamp?: number; retryAfter?: string } = {},
  ) => control('POST', '/_devices', { token, behaviour, ...extra }),
  notifications: (team: TestTeam) =>
    control('GET', `/_notifications?teamId=${team.teamId}`) as Promise<RecordedNotification[]>,
  stats: (team: TestTeam) => control('GET', `/_stats?teamId=${team.teamId}`) as Promise<FakeStats>,
  /** Every provider token the fake has seen for the team is refused as expired from now on. */
  expire: (team: TestTeam) => control('POST', '/_expire', { teamId: team.teamId }),
  /** Pins the team's clock (ms), or lets it follow real time again (null). */
  clock: (team: TestTeam, now: number | null) =>
    control('POST', '/_clock', { teamId: team.teamId, now }),
  unexpected: () => control('GET', '/_unexpected') as Promise<unknown[]>,
}

/** What `GET /_h2/<id>` reports of a dedicated HTTP/2 server, over all its connections. */
export type H2ServerStats = {
  sessions: number
  streams: number
  /** The most streams in flight at once on one connection. */
  maxInFlight: number
  goaways: number
  resets: number
}

/**
 * A dedicated HTTP/2 server of the fake (same teams, devices and notifications) with its own
 * stream limits and GOAWAY behaviour, and its own statistics.
 */
export async function h2Server(options: H2Options = {}) {
  const { id, url } = (await control('POST', '/_h2', options)) as { id: string; url: string }
  return { url, stats: () => control('GET', `/_h2/${id}`) as Promise<H2ServerStats> }
}

export { type MemoryTokenCache, memoryTokenCache, testContext } from './memory-token-cache'
