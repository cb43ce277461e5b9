// The APNs adapter end to end, from workerd to the fake APNs (test/fakes/apns.ts), which verifies
// every request the way Apple does. Both transports pass the same delivery tests: `fetch` over
// HTTP/1.1, and `h2` over HTTP/2 prior knowledge through a pool of connections per test, as one
// consumer invocation has. Where they differ (how many requests are in flight, what a broken
// request is called), the difference is named in TRANSPORTS.
import { importSPKI, jwtVerify } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tally } from '../../src/dispatch/tally'
import type { Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { FETCH_MAX_IN_FLIGHT, fetchTransport } from '../../src/networks/apns/fetch-transport'
import { H2Pool, h2Transport } from '../../src/networks/apns/h2-transport'
import type { ApnsTransportFactory } from '../../src/networks/apns/transport'
import { type DeliveryOptions, Message } from '../../src/push/message'
import type { Behaviour, RecordedNotification } from '../fakes/apns'
import {
  apnsH2Url,
  apnsUrl,
  deviceToken,
  fake,
  h2Server,
  newTeam,
  type TestTeam,
  testContext,
} from '../fakes/apns-client'

const UNREACHABLE = 'http://127.0.0.1:9'
/** The fake's MAX_CONCURRENT_STREAMS once a connection has seen a valid token, as Apple's. */
const FAKE_RAISED_STREAMS = 1000
const options: DeliveryOptions = { ttl: 0, pushMessageId: 'job-42' }
const message = Message.parse({
  alert: 'Hello',
  sound: 'default',
  badge: 3,
  apns: { title: 'Greeting', 'action-category': 'REPLY', 'mutable-content': true },
  'user-data': { room: 'r1', n: 7 },
})

type Transport = {
  name: 'fetch' | 'h2'
  protocol: RecordedNotification['protocol']
  /** The fake's origin that speaks this transport's protocol. */
  url: () => string
  /** The transport of one variant; `pool` holds the h2 connections of one "invocation". */
  factory: (team: TestTeam, pool: H2Pool) => ApnsTransportFactory
  /** Requests on their way before the first answer on a new connection. */
  firstInFlight: number
  /** Requests in flight once the connection has seen a valid provider token. */
  trustedInFlight: number
  /** Why a request the fake broke off is retried: HTTP/1.1 loses the connection, h2 the stream. */
  broken: string
  /** The retry reason when nothing listens at the endpoint. */
  unreachable: string
}

const FETCH: Transport = {
  name: 'fetch',
  protocol: 'http/1.1',
  url: apnsUrl,
  factory: () => (endpoint) => fetchTransport(endpoint),
  firstInFlight: FETCH_MAX_IN_FLIGHT,
  trustedInFlight: FETCH_MAX_IN_FLIGHT,
  broken: 'network_error',
  unreachable: 'network_error',
}

const H2: Transport = {
  name: 'h2',
  protocol: 'h2',
  url: apnsH2Url,
  factory: (team, pool) => (endpoint) =>
    h2Transport(pool, endpoint, `${team.teamId}:${team.keyId}`),
  // Apple, and the fake, allow one stream until a valid provider token was seen.
  firstInFlight: 1,
  trustedInFlight: FAKE_RAISED_STREAMS,
  broken: 'stream_reset',
  unreachable: 'connection_closed',
}

const TRANSPORTS = [FETCH, H2]

const targets = (tokens: string[], registeredAt = 0): Target[] =>
  tokens.map((token, i) => ({ installationId: `i${i}`, token, registeredAt }))

async function devices(behaviours: Behaviour[]) {
  const tokens = behaviours.map(() => deviceToken())
  await Promise.all(tokens.map((token, i) => fake.device(token, behaviours[i] ?? 'ok')))
  return tokens
}

const bearers = async (team: TestTeam) =>
  new Set((await fake.notifications(team)).map((n) => n.headers.authorization))

/** Pools of h2 connections opened by the test, each one consumer invocation's. */
const pools: H2Pool[] = []

function invocation(): H2Pool {
  const pool = new H2Pool()
  pools.push(pool)
  return pool
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()))
  expect(await fake.unexpected()).toStrictEqual([])
})

describe.each(TRANSPORTS)('over $name', (transport) => {
  // The invocation every adapter of a test belongs to, unless the test makes another.
  let pool: H2Pool
  beforeEach(() => {
    pool = invocation()
  })

  function adapter(
    team: TestTeam,
    extra: { timeoutMs?: number; production?: string; sandbox?: string; pool?: H2Pool } = {},
  ) {
    const url = transport.url()
    return createApnsAdapter(team, {
      endpoints: { production: extra.production ?? url, sandbox: extra.sandbox ?? url },
      transport: transport.factory(team, extra.pool ?? pool),
      timeoutMs: extra.timeoutMs,
    })
  }

  describe('the APNs adapter against the fake', () => {
    it('answers one outcome per device, in order, for every behaviour of APNs', async () => {
      const team = await newTeam()
      const gone = Date.now() - 60_000
      const tokens = await devices(['ok', 'bad', 'notfortopic', 'throttle', 'unavailable'])
      const more = await devices(['shutdown', 'internal', 'slow'])
      const [unregistered, expired, throttled] = [deviceToken(), deviceToken(), deviceToken()]
      await fake.device(unregistered, 'unregistered', { timestamp: gone })
      await fake.device(expired, 'expired', { timestamp: gone })
      await fake.device(throttled, 'throttle', { retryAfter: '7' })

      const all = [...tokens, ...more, unregistered, expired, throttled]
      const result = await adapter(team).send(targets(all), message, options, testContext())
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'delivered' },
          { kind: 'invalid_token', reason: 'BadDeviceToken', unproven: true },
          { kind: 'invalid_token', reason: 'DeviceTokenNotForTopic', unproven: true },
          { kind: 'retry', reason: 'TooManyRequests' },
          { kind: 'retry', reason: 'ServiceUnavailable' },
          { kind: 'retry', reason: 'Shutdown' },
          { kind: 'retry', reason: 'InternalServerError' },
          { kind: 'delivered' },
          { kind: 'invalid_token', reason: 'Unregistered', since: gone },
          { kind: 'invalid_token', reason: 'ExpiredToken', since: gone },
          { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 7000 },
        ],
      })
    })

    it('sends exactly what Apple expects: topic, push type, priority, ttl 0 (case 5), apns-id', async () => {
      const team = await newTeam()
      const tokens = [deviceToken(), deviceToken()]
      const ctx = testContext()
      const result = await adapter(team).send(targets(tokens), message, options, ctx)
      expect(result).toStrictEqual({ outcomes: [{ kind: 'delivered' }, { kind: 'delivered' }] })

      const received = await fake.notifications(team)
      expect(received.map((n) => n.token).sort()).toStrictEqual([...tokens].sort())
      expect(received.map((n) => n.protocol)).toStrictEqual([
        transport.protocol,
        transport.protocol,
      ])
      for (const notification of received) {
        const { 'apns-id': apnsId, authorization, ...headers } = notification.headers
        expect(headers).toStrictEqual({
          'apns-topic': team.bundleId,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'apns-expiration': '0',
        })
        expect(apnsId).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        )
        expect(authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/)
        expect(notification.payload).toStrictEqual({
          aps: {
            alert: { title: 'Greeting', body: 'Hello' },
            badge: 3,
            sound: 'default',
            category: 'REPLY',
            'mutable-content': 1,
          },
          room: 'r1',
          n: 7,
          'aerogear-push-id': 'job-42',
        })
      }
      const ids = received.map((n) => n.headers['apns-id'])
      expect(new Set(ids).size).toBe(2)
    })

    it('signs its bearer token so that an independent check accepts it', async () => {
      const team = await newTeam()
      const before = Math.floor(Date.now() / 1000)
      await adapter(team).send(targets([deviceToken()]), message, options, testContext())
      const [notification] = await fake.notifications(team)
      const jwt = notification?.headers.authorization?.replace(/^bearer /, '') ?? ''
      const { payload, protectedHeader } = await jwtVerify(
        jwt,
        await importSPKI(team.publicKey, 'ES256'),
        { issuer: team.teamId, algorithms: ['ES256'] },
      )
      expect(protectedHeader).toStrictEqual({ alg: 'ES256', kid: team.keyId })
      expect(Object.keys(payload).sort()).toStrictEqual(['iat', 'iss'])
      expect(payload.iat).toBeGreaterThanOrEqual(before)
    })

    it('sends a background push as Apple requires it: push type background, priority 5', async () => {
      const team = await newTeam()
      const silent = Message.parse({ apns: { 'content-available': true }, 'user-data': { k: 'v' } })
      const result = await adapter(team).send(
        targets([deviceToken()]),
        silent,
        { ttl: 600, pushMessageId: 'job-9' },
        testContext(),
      )
      expect(result).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })
      const [notification] = await fake.notifications(team)
      expect(notification?.headers['apns-push-type']).toBe('background')
      expect(notification?.headers['apns-priority']).toBe('5')
      expect(Number(notification?.headers['apns-expiration'])).toBeGreaterThan(Date.now() / 1000)
      expect(notification?.payload).toStrictEqual({
        aps: { 'content-available': 1 },
        k: 'v',
        'aerogear-push-id': 'job-9',
      })
    })

    it('puts the stored lowercase hex token in the path as it is (case 1)', async () => {
      const team = await newTeam()
      const short = '1e2122ba4ccabb8e7a34072cc71cf262470b35cde03f7ee8d78acdf08159e5a9'
      const long = deviceToken(80)
      const result = await adapter(team).send(
        targets([short, long]),
        message,
        options,
        testContext(),
      )
      expect(result.outcomes).toStrictEqual([{ kind: 'delivered' }, { kind: 'delivered' }])
      expect((await fake.notifications(team)).map((n) => n.token).sort()).toStrictEqual(
        [short, long].sort(),
      )
    })

    it('prunes a stored token that is not hex without putting it in a request path', async () => {
      const team = await newTeam()
      const result = await adapter(team).send(
        targets(['../../_reset', deviceToken()]),
        message,
        options,
        testContext(),
      )
      expect(result.outcomes).toStrictEqual([
        { kind: 'invalid_token', reason: 'malformed_token' },
        { kind: 'delivered' },
      ])
      expect((await fake.stats(team)).requests).toBe(1)
    })

    it('keeps the 410 timestamp so that a device registered after it stays (case 8)', async () => {
      const team = await newTeam()
      const timestamp = 1_767_225_600_123
      const [token] = await devices(['ok'])
      await fake.device(token ?? '', 'unregistered', { timestamp })
      const result = await adapter(team).send(
        targets([token ?? ''], timestamp + 1),
        message,
        options,
        testContext(),
      )
      // The adapter reports the moment; the deliver step prunes only registrations before it.
      expect(result).toStrictEqual({
        outcomes: [{ kind: 'invalid_token', reason: 'Unregistered', since: timestamp }],
      })
    })

    it('retries a flaky device until APNs takes it', async () => {
      const team = await newTeam()
      const batch = targets(await devices(['flaky2']))
      const ctx = testContext()
      const send = () => adapter(team).send(batch, message, options, ctx)
      const unavailable = { outcomes: [{ kind: 'retry', reason: 'ServiceUnavailable' }] }
      expect(await send()).toStrictEqual(unavailable)
      expect(await send()).toStrictEqual(unavailable)
      expect(await send()).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })
      expect(await fake.notifications(team)).toHaveLength(1)
    })

    it('retries a device whose request timed out or whose connection broke, and sends the others', async () => {
      const team = await newTeam()
      const tokens = await devices(['stall', 'reset', 'ok'])
      const result = await adapter(team, { timeoutMs: 300 }).send(
        targets(tokens),
        message,
        options,
        testContext(),
      )
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'retry', reason: 'timeout' },
          { kind: 'retry', reason: transport.broken },
          { kind: 'delivered' },
        ],
      })
    })

    it('retries every device when APNs cannot be reached', async () => {
      const team = await newTeam()
      const result = await adapter(team, { sandbox: UNREACHABLE }).send(
        targets([deviceToken(), deviceToken()]),
        message,
        options,
        testContext(),
      )
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'retry', reason: transport.unreachable },
          { kind: 'retry', reason: transport.unreachable },
        ],
      })
    })

    it('sends to the production endpoint only for a production variant', async () => {
      const team = await newTeam()
      const production = { ...team, production: true }
      const toProduction = adapter(production, { sandbox: UNREACHABLE })
      const toSandbox = adapter(team, { production: UNREACHABLE })
      const batch = targets([deviceToken()])
      const ctx = testContext()
      expect(await toProduction.send(batch, message, options, ctx)).toStrictEqual({
        outcomes: [{ kind: 'delivered' }],
      })
      expect(await toSandbox.send(batch, message, options, ctx)).toStrictEqual({
        outcomes: [{ kind: 'delivered' }],
      })
      expect(await fake.notifications(team)).toHaveLength(2)
    })

    it('refuses a payload over 4096 bytes without a request or a provider token', async () => {
      const team = await newTeam()
      const big = Message.parse({ alert: '\u{1F600}'.repeat(1020) })
      const ctx = testContext()
      const result = await adapter(team).send(
        targets([deviceToken(), deviceToken()]),
        big,
        options,
        ctx,
      )
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'failed', reason: 'PayloadTooLarge' },
          { kind: 'failed', reason: 'PayloadTooLarge' },
        ],
      })
      expect(ctx.sharedToken.mints).toBe(0)
      expect((await fake.stats(team)).requests).toBe(0)
    })

    it('neither mints nor sends for an empty batch', async () => {
      const team = await newTeam()
      const ctx = testContext()
      expect(await adapter(team).send([], message, options, ctx)).toStrictEqual({ outcomes: [] })
      expect(ctx.sharedToken.mints).toBe(0)
      expect((await fake.stats(team)).requests).toBe(0)
    })
  })

  describe('variant problems: nothing pruned, the rest of the batch not sent', () => {
    it('stops on InvalidProviderToken (a key Apple does not know) after the first requests', async () => {
      const team = await newTeam()
      const impostor = await newTeam({ register: false })
      // Signed with a key of its own, but claiming the registered team and key id.
      const forged = { ...team, privateKey: impostor.privateKey }
      const tokens = await devices(Array.from({ length: 20 }, (): Behaviour => 'unregistered'))
      const result = await adapter(forged).send(targets(tokens), message, options, testContext())

      expect(result.variantProblem).toStrictEqual({ reason: 'InvalidProviderToken' })
      expect(result.outcomes).toStrictEqual(
        tokens.map(() => ({ kind: 'failed', reason: 'InvalidProviderToken' })),
      )
      // Those on their way before the first answer (six over fetch, one on a new h2 connection)
      // were sent; none after it.
      const sent = transport.firstInFlight
      expect(await fake.stats(team)).toMatchObject({
        requests: sent,
        answers: { InvalidProviderToken: sent },
      })
    })

    it.each([
      ['bad', 'BadDeviceToken'],
      ['notfortopic', 'DeviceTokenNotForTopic'],
    ] as const)(
      'keeps every device when every one answers %s: the variant is wrong',
      async (behaviour, reason) => {
        // Sandbox tokens sent to production, or a bundleId of another app: Apple blames each token.
        const team = await newTeam()
        const tokens = await devices([behaviour, behaviour, behaviour])
        const result = await adapter(team).send(targets(tokens), message, options, testContext())
        expect(result).toStrictEqual({
          outcomes: tokens.map(() => ({ kind: 'invalid_token', reason, unproven: true })),
        })
        // What the deliver step makes of it: nothing delivered proves the set-up, so none pruned.
        const t = tally(targets(tokens), result, 1)
        expect(t.prune).toEqual([])
        expect(t).toMatchObject({ failed: 3, invalidTokens: 0, variantProblem: reason })
      },
    )

    it('keeps every device of a variant whose bundleId is not the app of its tokens', async () => {
      const team = await newTeam()
      const wrong = { ...team, bundleId: 'com.example.another' }
      const tokens = [deviceToken(), deviceToken()]
      const result = await adapter(wrong).send(targets(tokens), message, options, testContext())
      const t = tally(targets(tokens), result, 1)
      expect(t.prune).toEqual([])
      expect(t).toMatchObject({ failed: 2, variantProblem: 'DeviceTokenNotForTopic' })
    })

    it('still prunes such devices when others of the batch are answered otherwise', async () => {
      const team = await newTeam()
      const tokens = await devices(['bad', 'ok', 'notfortopic'])
      const result = await adapter(team).send(targets(tokens), message, options, testContext())
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'invalid_token', reason: 'BadDeviceToken', unproven: true },
          { kind: 'delivered' },
          { kind: 'invalid_token', reason: 'DeviceTokenNotForTopic', unproven: true },
        ],
      })
      const t = tally(targets(tokens), result, 1)
      expect(t.prune.map((p) => p.installationId)).toEqual(['i0', 'i2'])
    })

    it('fails the batch without a request when the stored key cannot sign', async () => {
      const team = await newTeam()
      const broken = { ...team, privateKey: 'not a key' }
      const result = await adapter(broken).send(
        targets([deviceToken(), deviceToken()]),
        message,
        options,
        testContext(),
      )
      expect(result).toStrictEqual({
        outcomes: [
          { kind: 'failed', reason: 'signing_key_unusable' },
          { kind: 'failed', reason: 'signing_key_unusable' },
        ],
        variantProblem: { reason: 'signing_key_unusable' },
      })
      expect((await fake.stats(team)).requests).toBe(0)
    })

    it('calls it the variant problem when a freshly renewed token is called expired too', async () => {
      // Our clock is two hours behind Apple's: every token we sign is already too old.
      const team = await newTeam()
      await fake.clock(team, Date.now() + 2 * 60 * 60_000)
      const ctx = testContext()
      const tokens = [deviceToken(), deviceToken(), deviceToken()]
      const result = await adapter(team).send(targets(tokens), message, options, ctx)

      expect(result).toStrictEqual({
        outcomes: tokens.map(() => ({ kind: 'failed', reason: 'ExpiredProviderToken' })),
        variantProblem: { reason: 'ExpiredProviderToken' },
      })
      expect(ctx.sharedToken.mints).toBe(2)
    })
  })

  describe('one provider token for the fleet (case 11)', () => {
    it('carries the same bearer JWT in fifty sends over three batches', async () => {
      const team = await newTeam()
      const ctx = testContext()
      for (const count of [17, 17, 16]) {
        const batch = targets(Array.from({ length: count }, () => deviceToken()))
        const result = await adapter(team).send(batch, message, options, ctx)
        expect(result.outcomes.every((o) => o.kind === 'delivered')).toBe(true)
      }
      expect(await fake.notifications(team)).toHaveLength(50)
      expect((await bearers(team)).size).toBe(1)
      expect((await fake.stats(team)).providerTokens).toBe(1)
      expect(ctx.sharedToken.mints).toBe(1)
    })

    it('is renewed once after ExpiredProviderToken, however many requests saw it', async () => {
      const team = await newTeam()
      const ctx = testContext()
      await adapter(team).send(targets([deviceToken()]), message, options, ctx)
      await fake.expire(team)

      const tokens = Array.from({ length: 8 }, () => deviceToken())
      const result = await adapter(team).send(targets(tokens), message, options, ctx)
      expect(result).toStrictEqual({ outcomes: tokens.map(() => ({ kind: 'delivered' })) })
      expect(ctx.sharedToken.mints).toBe(2)
      const [before] = await fake.notifications(team)
      const renewals = ctx.sharedToken.calls.filter((c) => c.rejected !== undefined)
      expect(renewals.map((c) => `bearer ${c.rejected}`)).toStrictEqual([
        before?.headers.authorization,
      ])
      // Every request sent before the first answer carried the old token: six over fetch, all
      // eight on an h2 connection that Apple trusts since the first send.
      const expired = Math.min(tokens.length, transport.trustedInFlight)
      expect(await fake.stats(team)).toMatchObject({
        providerTokens: 2,
        answers: { ExpiredProviderToken: expired },
      })
      expect((await bearers(team)).size).toBe(2)
    })

    it('is renewed once it is 40 minutes old, not before', async () => {
      const team = await newTeam()
      const start = Date.now()
      let now = start
      const ctx = testContext(() => now)
      const send = async () => {
        await fake.clock(team, now)
        return adapter(team).send(targets([deviceToken()]), message, options, ctx)
      }
      await send()
      now = start + 40 * 60_000 - 1000
      await send()
      expect((await fake.stats(team)).providerTokens).toBe(1)

      now = start + 40 * 60_000
      expect(await send()).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })
      expect((await fake.stats(team)).providerTokens).toBe(2)
      expect(ctx.sharedToken.mints).toBe(2)
    })

    it('shows what a fleet that mints its own gets: TooManyProviderTokenUpdates, all retried', async () => {
      const team = await newTeam()
      await adapter(team).send(targets([deviceToken()]), message, options, testContext())

      // A second "isolate" with a cache and connections of its own mints a second token.
      const tokens = Array.from({ length: 20 }, () => deviceToken())
      const isolate = adapter(team, { pool: invocation() })
      const result = await isolate.send(targets(tokens), message, options, testContext())
      expect(result).toStrictEqual({
        outcomes: tokens.map(() => ({ kind: 'retry', reason: 'TooManyProviderTokenUpdates' })),
      })
      // Those sent before the first answer got 429 (six over fetch, one over h2); no others.
      const refused = transport.firstInFlight
      expect(await fake.stats(team)).toMatchObject({
        requests: 1 + refused,
        providerTokens: 1,
        answers: { TooManyProviderTokenUpdates: refused },
      })
    })
  })
})

// How many requests are in flight is where the transports differ: a number of their own.
describe('requests in flight', () => {
  // Three slow answers, then one at once, over and over: the order of the outcomes must not
  // follow the order of the answers.
  const behaviours = Array.from({ length: 20 }, (_, i): Behaviour => (i % 5 === 4 ? 'bad' : 'slow'))
  const kinds = behaviours.map((b) => (b === 'bad' ? 'invalid_token' : 'delivered'))

  it('over fetch: at most six (the Workers limit of open connections), answers in order', async () => {
    const team = await newTeam()
    const adapter = createApnsAdapter(team, {
      endpoints: { production: apnsUrl(), sandbox: apnsUrl() },
      transport: (endpoint) => fetchTransport(endpoint),
    })
    const batch = targets(await devices(behaviours))
    const result = await adapter.send(batch, message, options, testContext())
    expect(result.outcomes.map((o) => o.kind)).toStrictEqual(kinds)
    expect(FETCH_MAX_IN_FLIGHT).toBe(6)
    expect(await fake.stats(team)).toMatchObject({ requests: 20, maxInFlight: 6 })
  })

  it("over h2: as many as the server's MAX_CONCURRENT_STREAMS, on one connection, answers in order", async () => {
    const team = await newTeam()
    const server = await h2Server({ maxConcurrentStreams: 1, raiseTo: 4 })
    const adapter = createApnsAdapter(team, {
      endpoints: { production: server.url, sandbox: server.url },
      transport: H2.factory(team, invocation()),
    })
    const batch = targets(await devices(behaviours))
    const result = await adapter.send(batch, message, options, testContext())
    expect(result.outcomes.map((o) => o.kind)).toStrictEqual(kinds)
    expect(await server.stats()).toMatchObject({ sessions: 1, streams: 20, maxInFlight: 4 })
    expect(await fake.stats(team)).toMatchObject({ requests: 20, maxInFlight: 4 })
  })
})
