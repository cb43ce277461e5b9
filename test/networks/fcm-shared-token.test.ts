// The FCM adapter over the real D1-shared token cache (src/db/tokens.ts), isolates simulated by
// forgetting the in-memory copies: the contract fcm/oauth.ts relies on, held by the real thing.
import { env } from 'cloudflare:workers'
import { exportPKCS8, generateKeyPair } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { openDb } from '../../src/db/client'
import { forgetSharedTokens, sharedTokens } from '../../src/db/tokens'
import type { AdapterContext, Target } from '../../src/networks/adapter'
import { createFcmAdapter } from '../../src/networks/fcm/adapter'
import type { ServiceAccount } from '../../src/networks/fcm/service-account'
import { type DeliveryOptions, Message } from '../../src/push/message'
import { EXPIRY_MARGIN_MS, fake, fcmToken, fcmUrl, newAccount } from '../fakes/fcm-client'

const options: DeliveryOptions = { ttl: 60, pushMessageId: 'job-7' }
const message = Message.parse({ alert: 'Hello' })

function isolate(now: () => number = Date.now): AdapterContext {
  return { now, fetch, sharedToken: sharedTokens(env, openDb(env), now) }
}

function send(account: ServiceAccount, ctx: AdapterContext, count = 1) {
  const targets: Target[] = Array.from({ length: count }, (_, i) => ({
    installationId: `i${i}`,
    token: fcmToken(),
    registeredAt: 0,
  }))
  const adapter = createFcmAdapter({
    serviceAccount: account,
    endpoint: fcmUrl(),
    allowInsecure: true,
  })
  return adapter.send(targets, message, options, ctx)
}

const delivered = (count: number) => ({
  outcomes: Array.from({ length: count }, () => ({ kind: 'delivered' })),
})

afterEach(async () => {
  forgetSharedTokens()
  expect(await fake.unexpected()).toStrictEqual([])
})

describe('the FCM access token shared through D1', () => {
  it('is minted once for batches in two isolates', async () => {
    const account = await newAccount()
    expect(await send(account, isolate())).toStrictEqual(delivered(1))
    forgetSharedTokens()
    expect(await send(account, isolate(), 3)).toStrictEqual(delivered(3))

    expect((await fake.stats(account)).mints).toBe(1)
    const received = await fake.messages(account.project_id)
    expect(new Set(received.map((m) => m.authorization)).size).toBe(1)
  })

  it('is renewed five minutes before Google expiry', async () => {
    const account = await newAccount()
    let now = Date.now()
    const clock = () => now
    await fake.clock(account, now)
    await send(account, isolate(clock))
    now += 3599_000 - EXPIRY_MARGIN_MS - 1
    await fake.clock(account, now)
    await send(account, isolate(clock))
    expect((await fake.stats(account)).mints).toBe(1)

    now += 1
    await fake.clock(account, now)
    expect(await send(account, isolate(clock))).toStrictEqual(delivered(1))
    expect((await fake.stats(account)).mints).toBe(2)
  })

  it('is replaced once after a 401, and another isolate then reads the new one', async () => {
    const account = await newAccount()
    await send(account, isolate())
    await fake.revoke(account)

    expect(await send(account, isolate(), 8)).toStrictEqual(delivered(8))
    forgetSharedTokens()
    expect(await send(account, isolate(), 8)).toStrictEqual(delivered(8))
    expect((await fake.stats(account)).mints).toBe(2)
  })

  it('is not handed to a variant naming the same client_email with another key', async () => {
    const account = await newAccount()
    const other = await generateKeyPair('RS256', { extractable: true })
    const impostor = { ...account, private_key: await exportPKCS8(other.privateKey) }
    expect(await send(account, isolate())).toStrictEqual(delivered(1))

    forgetSharedTokens()
    expect(await send(impostor, isolate())).toStrictEqual({
      outcomes: [{ kind: 'failed', reason: 'invalid_grant' }],
      variantProblem: { reason: 'invalid_grant' },
    })
    forgetSharedTokens()
    expect(await send(account, isolate())).toStrictEqual(delivered(1))

    expect((await fake.stats(account)).mints).toBe(1)
    const received = await fake.messages(account.project_id)
    expect(received).toHaveLength(2)
    expect(new Set(received.map((m) => m.authorization)).size).toBe(1)
  })

  it('is one for the same key pasted with CRLF in one variant and LF in another', async () => {
    const account = await newAccount()
    const crlf = { ...account, private_key: account.private_key.trim().split('\n').join('\r\n') }
    expect(await send(crlf, isolate())).toStrictEqual(delivered(1))
    forgetSharedTokens()
    expect(await send(account, isolate())).toStrictEqual(delivered(1))
    expect((await fake.stats(account)).mints).toBe(1)
  })
})
