// The APNs adapter over the real D1-shared token cache (src/db/tokens.ts), isolates simulated by
// forgetting their in-memory copies: one provider token for the whole fleet (case 11).
import { env } from 'cloudflare:workers'
import { like } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb } from '../../src/db/client'
import { providerTokens } from '../../src/db/schema'
import { forgetSharedTokens, sharedTokens } from '../../src/db/tokens'
import type { AdapterContext, Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { fetchTransport } from '../../src/networks/apns/fetch-transport'
import { type DeliveryOptions, Message } from '../../src/push/message'
import { apnsUrl, deviceToken, fake, newTeam, type TestTeam } from '../fakes/apns-client'

const options: DeliveryOptions = { ttl: 3600, pushMessageId: 'job-11' }
const message = Message.parse({ alert: 'Hello' })

function isolate(now: () => number = Date.now): AdapterContext {
  forgetSharedTokens()
  return { now, fetch, sharedToken: sharedTokens(env, openDb(env), now) }
}

function send(team: TestTeam, ctx: AdapterContext, count = 1) {
  const targets: Target[] = Array.from({ length: count }, (_, i) => ({
    installationId: `i${i}`,
    token: deviceToken(),
    registeredAt: 0,
  }))
  const adapter = createApnsAdapter(team, {
    endpoints: { production: apnsUrl(), sandbox: apnsUrl() },
    transport: (endpoint) => fetchTransport(endpoint),
  })
  return adapter.send(targets, message, options, ctx)
}

const delivered = (count: number) => ({
  outcomes: Array.from({ length: count }, () => ({ kind: 'delivered' })),
})

const bearers = async (team: TestTeam) =>
  new Set((await fake.notifications(team)).map((n) => n.headers.authorization))

const refused = {
  outcomes: [{ kind: 'failed', reason: 'InvalidProviderToken' }],
  variantProblem: { reason: 'InvalidProviderToken' },
}

/** The same team and key id, signed with a .p8 of its own: what another application could store. */
async function impostorOf(team: TestTeam): Promise<TestTeam> {
  return { ...team, privateKey: (await newTeam({ register: false })).privateKey }
}

/** The keys of the D1 rows holding a token of the team's key id. */
async function rowKeys(team: TestTeam) {
  const rows = await openDb(env)
    .select({ key: providerTokens.key })
    .from(providerTokens)
    .where(like(providerTokens.key, `apns:${team.teamId}:${team.keyId}:%`))
  return rows.map((row) => row.key)
}

afterEach(async () => {
  forgetSharedTokens()
  expect(await fake.unexpected()).toStrictEqual([])
})

describe('the APNs provider token shared through D1', () => {
  it('is one JWT for fifty sends in three batches on three isolates (case 11)', async () => {
    const team = await newTeam()
    expect(await send(team, isolate(), 17)).toStrictEqual(delivered(17))
    expect(await send(team, isolate(), 17)).toStrictEqual(delivered(17))
    expect(await send(team, isolate(), 16)).toStrictEqual(delivered(16))

    expect(await fake.notifications(team)).toHaveLength(50)
    expect((await bearers(team)).size).toBe(1)
    expect((await fake.stats(team)).providerTokens).toBe(1)
  })

  it('is renewed by the first isolate to see it 40 minutes old, and read by the others', async () => {
    const team = await newTeam()
    const start = Date.now()
    let now = start
    const clock = () => now
    await fake.clock(team, now)
    await send(team, isolate(clock))

    now = start + 40 * 60_000 - 1000
    await fake.clock(team, now)
    await send(team, isolate(clock))
    expect((await fake.stats(team)).providerTokens).toBe(1)

    now = start + 40 * 60_000
    await fake.clock(team, now)
    expect(await send(team, isolate(clock), 3)).toStrictEqual(delivered(3))
    expect(await send(team, isolate(clock), 3)).toStrictEqual(delivered(3))
    expect((await fake.stats(team)).providerTokens).toBe(2)
    expect((await fake.stats(team)).answers).not.toHaveProperty('TooManyProviderTokenUpdates')
  })

  it('is not renewed twice when a batch learns it expired after another batch renewed it', async () => {
    const team = await newTeam()
    const ctx = isolate()
    await send(team, ctx)
    await fake.expire(team)

    // Both batches start with the expired token; the second one's answers come back late.
    const late = createApnsAdapter(team, {
      endpoints: { production: apnsUrl(), sandbox: apnsUrl() },
      transport: (endpoint) =>
        fetchTransport(endpoint, async (input, init) => {
          await scheduler.wait(300)
          return fetch(input, init)
        }),
    })
    const device = [{ installationId: 'late', token: deviceToken(), registeredAt: 0 }]
    const [early, lateResult] = await Promise.all([
      send(team, ctx, 3),
      late.send(device, message, options, ctx),
    ])
    expect(early).toStrictEqual(delivered(3))
    expect(lateResult).toStrictEqual(delivered(1))
    expect(await fake.stats(team)).toMatchObject({
      providerTokens: 2,
      answers: { ExpiredProviderToken: 4 },
    })
  })

  it('is replaced once after ExpiredProviderToken, and another isolate then reads the new one', async () => {
    const team = await newTeam()
    await send(team, isolate())
    await fake.expire(team)

    expect(await send(team, isolate(), 8)).toStrictEqual(delivered(8))
    expect(await send(team, isolate(), 8)).toStrictEqual(delivered(8))
    expect((await fake.stats(team)).providerTokens).toBe(2)
    expect((await bearers(team)).size).toBe(2)
  })

  it('is not handed to a variant naming the same team and key id with another key', async () => {
    const team = await newTeam()
    expect(await send(team, isolate())).toStrictEqual(delivered(1))

    // On another isolate the stored token is there to be read, but not under the impostor's key.
    expect(await send(await impostorOf(team), isolate())).toStrictEqual(refused)
    expect(await send(team, isolate())).toStrictEqual(delivered(1))

    expect(await fake.notifications(team)).toHaveLength(2)
    expect((await bearers(team)).size).toBe(1)
    expect(await fake.stats(team)).toMatchObject({
      providerTokens: 1,
      answers: { InvalidProviderToken: 1 },
    })
    expect(await rowKeys(team)).toHaveLength(2)
  })

  it('is not spoilt for the genuine variant by one with a wrong .p8 for its key id', async () => {
    const team = await newTeam()
    const impostor = await impostorOf(team)
    expect(await send(impostor, isolate())).toStrictEqual(refused)

    expect(await send(team, isolate(), 3)).toStrictEqual(delivered(3))
    expect(await send(impostor, isolate())).toStrictEqual(refused)
    expect(await fake.stats(team)).toMatchObject({
      providerTokens: 1,
      answers: { InvalidProviderToken: 2 },
    })
    expect((await bearers(team)).size).toBe(1)
  })

  it('is one for the same .p8 pasted with CRLF in one variant and LF in another', async () => {
    const team = await newTeam()
    const crlf = { ...team, privateKey: team.privateKey.trim().split('\n').join('\r\n') }
    expect(crlf.privateKey).toContain('\r\n')

    expect(await send(crlf, isolate())).toStrictEqual(delivered(1))
    expect(await send(team, isolate())).toStrictEqual(delivered(1))
    expect((await bearers(team)).size).toBe(1)
    expect((await fake.stats(team)).providerTokens).toBe(1)
    expect(await rowKeys(team)).toHaveLength(1)
  })
})
