// The APNs adapter over the `h2` transport against dedicated HTTP/2 servers of the fake APNs
// (test/fakes/apns.ts, `POST /_h2`): what only HTTP/2 has. Apple's stream limit of one until a
// valid token, GOAWAY in the middle of a batch, a reset or stalled stream among good ones, and
// many notifications multiplexed on one connection. Each test is one consumer invocation: one
// H2Pool, closed after it.
import { afterEach, describe, expect, it } from 'vitest'
import type { Outcome, Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { Setting } from '../../src/networks/apns/h2/frames'
import { H2Pool, h2Transport } from '../../src/networks/apns/h2-transport'
import { type DeliveryOptions, Message } from '../../src/push/message'
import type { Behaviour } from '../fakes/apns'
import {
  deviceToken,
  fake,
  h2Server,
  newTeam,
  type TestTeam,
  testContext,
} from '../fakes/apns-client'
import { ScriptedPeer } from '../fakes/h2-peer'

const options: DeliveryOptions = { ttl: 0, pushMessageId: 'job-h2' }
const message = Message.parse({ alert: 'over h2' })
const DELIVERED: Outcome = { kind: 'delivered' }

const pools: H2Pool[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()))
  expect(await fake.unexpected()).toStrictEqual([])
})

/**
 * One consumer invocation delivering to `url` for the team: one H2Pool, one adapter context (so
 * one provider token), the adapter built as src/dispatch/adapters.ts builds it. Returns its send.
 */
function invocation(team: TestTeam, url: string, timeoutMs?: number) {
  const pool = new H2Pool()
  pools.push(pool)
  const ctx = testContext()
  const adapter = createApnsAdapter(team, {
    endpoints: { production: url, sandbox: url },
    transport: (endpoint) => h2Transport(pool, endpoint, `${team.teamId}:${team.keyId}`),
    timeoutMs,
  })
  return (tokens: string[]) => adapter.send(targets(tokens), message, options, ctx)
}

const targets = (tokens: string[]): Target[] =>
  tokens.map((token, i) => ({ installationId: `i${i}`, token, registeredAt: 0 }))

async function devices(behaviours: Behaviour[]) {
  const tokens = behaviours.map(() => deviceToken())
  await Promise.all(tokens.map((token, i) => fake.device(token, behaviours[i] ?? 'ok')))
  return tokens
}

/** How many notifications the fake accepted for each token: "not lost, not twice" is all 1. */
async function deliveries(team: TestTeam): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const { token } of await fake.notifications(team)) {
    counts.set(token, (counts.get(token) ?? 0) + 1)
  }
  return counts
}

const once = (tokens: string[]) => new Map(tokens.map((token) => [token, 1]))

async function until(condition: () => Promise<boolean>, ms = 2000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await scheduler.wait(5)
  }
}

describe('the APNs adapter over h2', () => {
  it('sends one stream until Apple has seen a valid token, then many, on one connection', async () => {
    const team = await newTeam()
    const server = await h2Server({ maxConcurrentStreams: 1, raiseTo: 8 })
    const tokens = await devices(Array.from({ length: 12 }, (): Behaviour => 'slow'))
    const sending = invocation(team, server.url)(tokens)

    // The first answer takes 250 ms: until it is back, its stream is the only one.
    await until(async () => (await server.stats()).streams > 0)
    expect(await server.stats()).toMatchObject({ sessions: 1, streams: 1, maxInFlight: 1 })

    expect(await sending).toStrictEqual({ outcomes: tokens.map(() => DELIVERED) })
    expect(await server.stats()).toMatchObject({ sessions: 1, streams: 12, maxInFlight: 8 })
    expect(await deliveries(team)).toStrictEqual(once(tokens))
  })

  it('retries the streams above the last id of a GOAWAY, and delivers them on a new connection', async () => {
    const team = await newTeam()
    // GOAWAY once three answers went out, while the two slow requests are still in flight.
    const server = await h2Server({ goawayAfter: 3, goawayReason: 'Shutdown' })
    const tokens = await devices(['ok', 'ok', 'ok', 'slow', 'slow'])
    const send = invocation(team, server.url)

    const first = await send(tokens)
    const refused: Outcome = { kind: 'retry', reason: 'connection_closed' }
    expect(first).toStrictEqual({ outcomes: [DELIVERED, DELIVERED, DELIVERED, refused, refused] })
    expect(await server.stats()).toMatchObject({ sessions: 1, goaways: 1 })
    expect(await deliveries(team)).toStrictEqual(once(tokens.slice(0, 3)))

    // The deliver step sends the retried devices again: same invocation, new connection.
    const retried = tokens.slice(3)
    const again = await send(retried)
    expect(again).toStrictEqual({ outcomes: [DELIVERED, DELIVERED] })
    expect(await server.stats()).toMatchObject({ sessions: 2, goaways: 1 })
    expect(await deliveries(team)).toStrictEqual(once(tokens))
  })

  it('lets the streams below the last id of a GOAWAY finish while new ones go elsewhere', async () => {
    const team = await newTeam()
    // Three streams at a time; GOAWAY after three answers, while the slow second is in flight
    // below the last id. The requests that follow must not cut it off.
    const server = await h2Server({ raiseTo: 3, goawayAfter: 3 })
    const tokens = await devices(['ok', 'slow', 'ok', 'ok', 'slow', 'slow'])
    const send = invocation(team, server.url)

    const first = await send(tokens)
    expect(first.outcomes.slice(0, 4)).toStrictEqual([DELIVERED, DELIVERED, DELIVERED, DELIVERED])
    // The last two went out on the old connection before its GOAWAY arrived (refused: retried),
    // or after it, on a new one (delivered): either is right, as long as none is lost.
    const later = first.outcomes.slice(4)
    for (const outcome of later) {
      expect([DELIVERED, { kind: 'retry', reason: 'connection_closed' }]).toContainEqual(outcome)
    }
    const retried = tokens.slice(4).filter((_, i) => later[i]?.kind === 'retry')
    if (retried.length > 0) {
      const again = await send(retried)
      expect(again).toStrictEqual({ outcomes: retried.map(() => DELIVERED) })
    }
    expect(await server.stats()).toMatchObject({ sessions: 2, goaways: 1 })
    expect(await deliveries(team)).toStrictEqual(once(tokens))
  })

  it('retries a device whose stream was reset, and delivers the others on the same connection', async () => {
    const team = await newTeam()
    const server = await h2Server()
    const tokens = await devices(['reset', 'ok', 'ok', 'ok'])
    const result = await invocation(team, server.url)(tokens)
    expect(result).toStrictEqual({
      outcomes: [{ kind: 'retry', reason: 'stream_reset' }, DELIVERED, DELIVERED, DELIVERED],
    })
    expect(await server.stats()).toMatchObject({ sessions: 1, streams: 4 })
    expect(await deliveries(team)).toStrictEqual(once(tokens.slice(1)))
  })

  it('retries a stalled device after the timeout, and keeps using the connection', async () => {
    const team = await newTeam()
    const server = await h2Server()
    const tokens = await devices(['ok', 'stall', 'ok', 'ok', 'ok'])
    const send = invocation(team, server.url, 300)
    const started = Date.now()
    const result = await send(tokens)
    expect(result).toStrictEqual({
      outcomes: [DELIVERED, { kind: 'retry', reason: 'timeout' }, DELIVERED, DELIVERED, DELIVERED],
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    // The stall did not hold the others back: they were answered before it timed out.
    const received = await fake.notifications(team)
    expect(received.every((n) => n.receivedAt < started + 300)).toBe(true)

    // The stream was cancelled, not the connection: the next batch of the invocation uses it.
    const next = await devices(['ok', 'ok'])
    const after = await send(next)
    expect(after).toStrictEqual({ outcomes: [DELIVERED, DELIVERED] })
    expect(await server.stats()).toMatchObject({ sessions: 1, streams: 7, resets: 1 })
    expect(await deliveries(team)).toStrictEqual(
      once([...tokens.slice(0, 1), ...tokens.slice(2), ...next]),
    )
  })

  it('multiplexes a hundred notifications on one connection', async () => {
    const team = await newTeam()
    const server = await h2Server()
    const tokens = Array.from({ length: 100 }, () => deviceToken())
    const result = await invocation(team, server.url)(tokens)
    expect(result).toStrictEqual({ outcomes: tokens.map(() => DELIVERED) })
    const stats = await server.stats()
    expect(stats).toMatchObject({ sessions: 1, streams: 100, goaways: 0, resets: 0 })
    // One stream alone until the first valid token; then the other 99 together.
    expect(stats.maxInFlight).toBeGreaterThan(50)
    expect(await deliveries(team)).toStrictEqual(once(tokens))
    expect((await fake.notifications(team)).every((n) => n.protocol === 'h2')).toBe(true)
  })
})

describe('the h2 transport', () => {
  it('follows a server that sets no stream limit with many requests, not one', async () => {
    const peer = new ScriptedPeer()
    const pool = new H2Pool(() => peer.connection)
    pools.push(pool)
    await peer.handshake([Setting.INITIAL_WINDOW_SIZE, 65_535])
    expect(h2Transport(pool, 'https://push.example', 'key').maxInFlight).toBeGreaterThan(1)
  })
})
