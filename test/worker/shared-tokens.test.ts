// The D1-shared token cache (src/db/tokens.ts) when a network refuses a token: however many
// batches and isolates hear the refusal, and in whatever order, the refused token is replaced
// once. Isolates are simulated by forgetting the in-memory copies (`forgetSharedTokens`).
import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb } from '../../src/db/client'
import { providerTokens } from '../../src/db/schema'
import { forgetSharedTokens, sharedTokens } from '../../src/db/tokens'
import type { AdapterContext, Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { fetchTransport } from '../../src/networks/apns/fetch-transport'
import { type DeliveryOptions, Message } from '../../src/push/message'
import { apnsUrl, deviceToken, fake, newTeam } from '../fakes/apns-client'

// A frozen clock: every token below is issued in the same millisecond as the one it replaces.
const NOW = Date.UTC(2026, 4, 6, 7, 8, 9)
const HOUR = 60 * 60_000
// As APNs asks: renewed at 40 minutes.
const opts = { renewIfOlderThanMs: 40 * 60_000 }

const db = openDb(env)
const isolate = () => sharedTokens(env, db, () => NOW)
const newKey = () => `test:${crypto.randomUUID()}`

/** A mint that names its tokens in order (token-1, token-2...) and records each one. */
function minter(name = 'token', gate?: () => Promise<void>) {
  const minted: string[] = []
  const mint = async () => {
    const token = `${name}-${minted.length + 1}`
    minted.push(token)
    await gate?.()
    return { token, expiresAt: NOW + HOUR }
  }
  return { mint, minted }
}

/** A promise and the function that settles it. */
function signal() {
  let resolve = () => {}
  const promise = new Promise<void>((settle) => {
    resolve = settle
  })
  return { promise, resolve }
}

/** Lets callers through once `count` of them wait: each has read D1 before any one writes. */
function barrier(count: number) {
  let arrived = 0
  const all = signal()
  return () => {
    arrived += 1
    if (arrived === count) all.resolve()
    return all.promise
  }
}

const row = async (key: string) =>
  (await db.select().from(providerTokens).where(eq(providerTokens.key, key)))[0]

afterEach(() => forgetSharedTokens())

describe('a token the network rejected', () => {
  it('is replaced once when two batches of one isolate hear it rejected one after the other', async () => {
    const key = newKey()
    const { mint, minted } = minter()
    const cache = isolate()
    const old = await cache(key, mint, opts)

    const first = await cache(key, mint, { ...opts, rejected: old })
    const second = await cache(key, mint, { ...opts, rejected: old })
    expect([old, first, second]).toStrictEqual(['token-1', 'token-2', 'token-2'])
    expect(minted).toStrictEqual(['token-1', 'token-2'])

    forgetSharedTokens()
    expect(await isolate()(key, mint, opts)).toBe('token-2')
    expect(minted).toHaveLength(2)
  })

  it('is replaced by the token another isolate stored in D1, without minting', async () => {
    const key = newKey()
    const { mint, minted } = minter()
    const old = await isolate()(key, mint, opts)

    forgetSharedTokens()
    const renewedElsewhere = await isolate()(key, mint, { ...opts, rejected: old })
    forgetSharedTokens()
    const adopted = await isolate()(key, mint, { ...opts, rejected: old })

    expect([old, renewedElsewhere, adopted]).toStrictEqual(['token-1', 'token-2', 'token-2'])
    expect(minted).toStrictEqual(['token-1', 'token-2'])
  })

  it('is replaced by the D1 token even while this isolate still holds the rejected one', async () => {
    const key = newKey()
    const { mint, minted } = minter()
    const old = await isolate()(key, mint, opts)
    const oldRow = await row(key)

    forgetSharedTokens()
    await isolate()(key, mint, { ...opts, rejected: old })
    const renewedRow = await row(key)

    // Put this isolate back where it was before the other renewed: the old token in memory.
    forgetSharedTokens()
    await db
      .update(providerTokens)
      .set({ ...oldRow })
      .where(eq(providerTokens.key, key))
    expect(await isolate()(key, mint, opts)).toBe(old)
    await db
      .update(providerTokens)
      .set({ ...renewedRow })
      .where(eq(providerTokens.key, key))

    expect(await isolate()(key, mint, { ...opts, rejected: old })).toBe('token-2')
    expect(minted).toStrictEqual(['token-1', 'token-2'])
  })

  it('renewed by two isolates at once ends as one token: the loser adopts the winner', async () => {
    const key = newKey()
    const { mint: first } = minter()
    const old = await isolate()(key, first, opts)

    // Both read the rejected token from D1 and mint before either writes.
    const gate = barrier(2)
    const a = minter('a', gate)
    const b = minter('b', gate)
    const [fromA, fromB] = await Promise.all([
      isolate()(key, a.mint, { ...opts, rejected: old }),
      isolate()(key, b.mint, { ...opts, rejected: old }),
    ])
    expect([...a.minted, ...b.minted]).toStrictEqual(['a-1', 'b-1'])
    expect(fromA).toBe(fromB)
    expect(['a-1', 'b-1']).toContain(fromA)

    forgetSharedTokens()
    const { mint: none, minted } = minter()
    expect(await isolate()(key, none, opts)).toBe(fromA)
    expect(minted).toStrictEqual([])
  })

  it('is never handed out again: a failed mint reaches the caller and leaves the row as it was', async () => {
    const key = newKey()
    const { mint } = minter()
    const old = await isolate()(key, mint, opts)
    const before = await row(key)

    const broken = () => Promise.reject(new Error('token endpoint down'))
    await expect(isolate()(key, broken, { ...opts, rejected: old })).rejects.toThrow('down')
    expect(await row(key)).toStrictEqual(before)
  })
})

describe('an APNs batch that hears ExpiredProviderToken after another batch renewed', () => {
  const options: DeliveryOptions = { ttl: 3600, pushMessageId: 'job-12' }
  const message = Message.parse({ alert: 'Hello' })
  const context = (): AdapterContext => {
    const now = Date.now
    return { now, fetch, sharedToken: sharedTokens(env, db, now) }
  }
  const targets = (count: number): Target[] =>
    Array.from({ length: count }, (_, i) => ({
      installationId: `i${i}`,
      token: deviceToken(),
      registeredAt: 0,
    }))

  it.each([
    ['of this isolate: from memory', false],
    ['of another isolate: from D1', true],
  ])('takes the token renewed by a batch %s, and Apple sees one renewal', async (_, elsewhere) => {
    const team = await newTeam()
    const endpoints = { production: apnsUrl(), sandbox: apnsUrl() }
    const plain = createApnsAdapter(team, { endpoints, transport: (e) => fetchTransport(e) })
    expect(await plain.send(targets(1), message, options, context())).toStrictEqual({
      outcomes: [{ kind: 'delivered' }],
    })
    await fake.expire(team)

    // This isolate's batch has taken the old token; its request waits until released.
    const waiting = signal()
    const release = signal()
    const held = createApnsAdapter(team, {
      endpoints,
      transport: (e) =>
        fetchTransport(e, async (input, init) => {
          waiting.resolve()
          await release.promise
          return fetch(input, init)
        }),
    })
    const late = held.send(targets(1), message, options, context())
    await waiting.promise

    // Another batch hears ExpiredProviderToken first and renews.
    if (elsewhere) forgetSharedTokens()
    const other = await plain.send(targets(3), message, options, context())
    expect(other).toStrictEqual({ outcomes: [1, 2, 3].map(() => ({ kind: 'delivered' })) })

    if (elsewhere) forgetSharedTokens()
    release.resolve()
    expect(await late).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })

    const stats = await fake.stats(team)
    expect(stats).toMatchObject({ providerTokens: 2, answers: { ExpiredProviderToken: 4 } })
    expect(stats.answers).not.toHaveProperty('TooManyProviderTokenUpdates')
    expect(await fake.unexpected()).toStrictEqual([])
  })
})
