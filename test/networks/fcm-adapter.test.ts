import { afterEach, describe, expect, it } from 'vitest'
import { tally } from '../../src/dispatch/tally'
import type { Target } from '../../src/networks/adapter'
import { createFcmAdapter } from '../../src/networks/fcm/adapter'
import type { ServiceAccount } from '../../src/networks/fcm/service-account'
import { type DeliveryOptions, Message } from '../../src/push/message'
import { fake, fcmToken, fcmUrl, newAccount, testContext } from '../fakes/fcm-client'

const options: DeliveryOptions = { ttl: 0, pushMessageId: 'job-42' }
const message = Message.parse({
  alert: 'Hello',
  priority: 'high',
  'user-data': { type: 'chat', id: 21465, flag: true, nested: { a: 1 } },
})

const targets = (tokens: string[]): Target[] =>
  tokens.map((token, i) => ({ installationId: `i${i}`, token, registeredAt: 0 }))

function adapter(account: ServiceAccount, extra: { endpoint?: string; timeoutMs?: number } = {}) {
  return createFcmAdapter({
    serviceAccount: account,
    endpoint: extra.endpoint ?? fcmUrl(),
    allowInsecure: true,
    timeoutMs: extra.timeoutMs,
  })
}

afterEach(async () => {
  expect(await fake.unexpected()).toStrictEqual([])
})

describe('the FCM adapter against the fake', () => {
  it('answers one outcome per device, in order, for each behaviour of FCM', async () => {
    const account = await newAccount()
    const tokens = [
      fcmToken('ok'),
      fcmToken('unregistered'),
      fcmToken('mismatch'),
      fcmToken('invalid'),
      fcmToken('quota'),
      fcmToken('unavailable'),
      fcmToken('internal'),
    ]
    const result = await adapter(account).send(targets(tokens), message, options, testContext())
    expect(result).toStrictEqual({
      outcomes: [
        { kind: 'delivered' },
        { kind: 'invalid_token', reason: 'UNREGISTERED' },
        { kind: 'invalid_token', reason: 'SENDER_ID_MISMATCH', unproven: true },
        { kind: 'invalid_token', reason: 'INVALID_ARGUMENT' },
        { kind: 'retry', reason: 'QUOTA_EXCEEDED', retryAfterMs: 17_000 },
        { kind: 'retry', reason: 'UNAVAILABLE' },
        { kind: 'retry', reason: 'INTERNAL' },
      ],
    })
  })

  it('keeps every device when a whole batch answers SENDER_ID_MISMATCH: a variant problem', async () => {
    const account = await newAccount()
    const tokens = [fcmToken('mismatch'), fcmToken('mismatch'), fcmToken('mismatch')]
    const result = await adapter(account).send(targets(tokens), message, options, testContext())
    const gone = { kind: 'invalid_token', reason: 'SENDER_ID_MISMATCH', unproven: true }
    expect(result).toStrictEqual({ outcomes: [gone, gone, gone] })
    // What the deliver step makes of it: nothing delivered proves the project, so none pruned.
    const t = tally(targets(tokens), result, 1)
    expect(t.prune).toEqual([])
    expect(t).toMatchObject({ failed: 3, invalidTokens: 0, variantProblem: 'SENDER_ID_MISMATCH' })
  })

  it('delivers the body Google expects: string data (case 4), ttl "0s" (case 5)', async () => {
    const account = await newAccount()
    const token = fcmToken()
    const ctx = testContext()
    const result = await adapter(account).send(targets([token]), message, options, ctx)
    expect(result).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })

    const received = await fake.messages(account.project_id)
    expect(received).toHaveLength(1)
    expect(received[0]?.authorization).toBe(
      `Bearer ${ctx.sharedToken.stored.values().next().value?.token}`,
    )
    expect(received[0]?.body).toStrictEqual({
      message: {
        token,
        notification: { body: 'Hello' },
        data: {
          type: 'chat',
          id: '21465',
          flag: 'true',
          nested: '{"a":1}',
          'aerogear-push-id': 'job-42',
        },
        android: { priority: 'HIGH', ttl: '0s' },
      },
    })
  })

  it('retries a flaky device until FCM takes it', async () => {
    const account = await newAccount()
    const batch = targets([fcmToken('flaky2')])
    const ctx = testContext()
    const send = () => adapter(account).send(batch, message, options, ctx)
    expect(await send()).toStrictEqual({ outcomes: [{ kind: 'retry', reason: 'UNAVAILABLE' }] })
    expect(await send()).toStrictEqual({ outcomes: [{ kind: 'retry', reason: 'UNAVAILABLE' }] })
    expect(await send()).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })
    expect(await fake.messages(account.project_id)).toHaveLength(1)
  })

  it('has at most six requests in flight, and keeps the order of the answers', async () => {
    const account = await newAccount()
    await fake.delay(account.project_id, 40)
    const tokens = Array.from({ length: 20 }, (_, i) =>
      fcmToken(i % 5 === 4 ? 'unregistered' : 'ok'),
    )
    const result = await adapter(account).send(targets(tokens), message, options, testContext())

    expect(result.outcomes.map((o) => o.kind)).toStrictEqual(
      tokens.map((t) => (t.startsWith('unregistered') ? 'invalid_token' : 'delivered')),
    )
    expect(await fake.stats(account)).toMatchObject({ sends: 20, maxInFlight: 6 })
  })

  it('retries a device whose request timed out, and sends the others', async () => {
    const account = await newAccount()
    const tokens = [fcmToken('hang'), fcmToken('ok')]
    const result = await adapter(account, { timeoutMs: 300 }).send(
      targets(tokens),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({
      outcomes: [{ kind: 'retry', reason: 'timeout' }, { kind: 'delivered' }],
    })
  })

  it('retries every device when the token endpoint cannot be reached', async () => {
    const account = { ...(await newAccount()), token_uri: 'http://127.0.0.1:9/token' }
    const result = await adapter(account).send(
      targets([fcmToken(), fcmToken()]),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({
      outcomes: [
        { kind: 'retry', reason: 'token_unavailable' },
        { kind: 'retry', reason: 'token_unavailable' },
      ],
    })
    expect((await fake.stats(account)).sends).toBe(0)
  })

  it('neither mints nor sends for an empty batch', async () => {
    const account = await newAccount()
    const ctx = testContext()
    expect(await adapter(account).send([], message, options, ctx)).toStrictEqual({ outcomes: [] })
    expect(await fake.stats(account)).toMatchObject({ mints: 0, sends: 0 })
  })

  it('retries every device when FCM cannot be reached', async () => {
    const account = await newAccount()
    const result = await adapter(account, { endpoint: 'http://127.0.0.1:9' }).send(
      targets([fcmToken(), fcmToken()]),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({
      outcomes: [
        { kind: 'retry', reason: 'network_error' },
        { kind: 'retry', reason: 'network_error' },
      ],
    })
  })
})

describe('variant problems: nothing pruned, the rest of the batch not sent', () => {
  it('reports a wrong project id, not a dead token (case 7)', async () => {
    const account = await newAccount()
    const wrong = { ...account, project_id: `${account.project_id}-typo` }
    const tokens = Array.from({ length: 20 }, () => fcmToken('unregistered'))
    const result = await adapter(wrong).send(targets(tokens), message, options, testContext())

    expect(result.variantProblem).toStrictEqual({ reason: 'project_not_found' })
    expect(result.outcomes).toStrictEqual(
      tokens.map(() => ({ kind: 'failed', reason: 'project_not_found' })),
    )
    // The first six were on their way before the first answer; none was sent after it.
    expect((await fake.stats(wrong)).sends).toBe(6)
  })

  it('stops on THIRD_PARTY_AUTH_ERROR without minting a new access token', async () => {
    const account = await newAccount()
    // The others answer later than the first: the problem is known before any worker is free.
    const tokens = [fcmToken('thirdparty'), ...Array.from({ length: 10 }, () => fcmToken('slow'))]
    const ctx = testContext()
    const result = await adapter(account).send(targets(tokens), message, options, ctx)

    expect(result.variantProblem).toStrictEqual({ reason: 'THIRD_PARTY_AUTH_ERROR' })
    expect(result.outcomes[0]).toStrictEqual({ kind: 'failed', reason: 'THIRD_PARTY_AUTH_ERROR' })
    expect(result.outcomes.some((o) => o.kind === 'invalid_token')).toBe(false)
    // The five sent beside it were delivered; none after it was sent.
    expect(result.outcomes.filter((o) => o.kind === 'delivered')).toHaveLength(5)
    expect(await fake.messages(account.project_id)).toHaveLength(5)
    expect((await fake.stats(account)).mints).toBe(1)
  })

  it('reports PERMISSION_DENIED when the account sends for another project', async () => {
    const account = await newAccount()
    const other = await newAccount()
    const borrowed = { ...account, project_id: other.project_id }
    const result = await adapter(borrowed).send(
      targets([fcmToken()]),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({
      outcomes: [{ kind: 'failed', reason: 'PERMISSION_DENIED' }],
      variantProblem: { reason: 'PERMISSION_DENIED' },
    })
  })

  it('fails the batch, sending nothing, when the token endpoint refuses the account', async () => {
    const account = await newAccount({ register: false })
    const result = await adapter(account).send(
      targets([fcmToken(), fcmToken()]),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({
      outcomes: [
        { kind: 'failed', reason: 'invalid_grant' },
        { kind: 'failed', reason: 'invalid_grant' },
      ],
      variantProblem: { reason: 'invalid_grant' },
    })
    expect((await fake.stats(account)).sends).toBe(0)
  })

  it('refuses an http token_uri when insecure endpoints are not allowed', async () => {
    const account = await newAccount()
    const strict = createFcmAdapter({
      serviceAccount: account,
      endpoint: fcmUrl(),
      allowInsecure: false,
    })
    const result = await strict.send(targets([fcmToken()]), message, options, testContext())
    expect(result.variantProblem).toStrictEqual({ reason: 'insecure_token_uri' })
    expect(await fake.stats(account)).toMatchObject({ mints: 0, sends: 0 })
  })
})

describe('the shared access token', () => {
  it('is minted once for two batches, and by two adapters sharing the cache', async () => {
    const account = await newAccount()
    const ctx = testContext()
    await adapter(account).send(targets([fcmToken()]), message, options, ctx)
    await adapter(account).send(targets([fcmToken(), fcmToken()]), message, options, ctx)

    const received = await fake.messages(account.project_id)
    expect(received).toHaveLength(3)
    expect(new Set(received.map((m) => m.authorization)).size).toBe(1)
    expect((await fake.stats(account)).mints).toBe(1)
    expect(ctx.sharedToken.mints).toBe(1)
  })

  it('is dropped and minted again once after a 401, however many requests saw it', async () => {
    const account = await newAccount()
    const ctx = testContext()
    await adapter(account).send(targets([fcmToken()]), message, options, ctx)
    await fake.revoke(account)

    const tokens = Array.from({ length: 8 }, () => fcmToken())
    const result = await adapter(account).send(targets(tokens), message, options, ctx)
    expect(result).toStrictEqual({ outcomes: tokens.map(() => ({ kind: 'delivered' })) })
    expect((await fake.stats(account)).mints).toBe(2)

    const received = await fake.messages(account.project_id)
    expect(new Set(received.map((m) => m.authorization)).size).toBe(2)
  })

  it('makes a variant problem of a fresh token that is refused too', async () => {
    const account = await newAccount()
    const ctx = testContext()
    await adapter(account).send(targets([fcmToken()]), message, options, ctx)
    await fake.revoke(account, { forever: true })

    const tokens = Array.from({ length: 8 }, () => fcmToken())
    const result = await adapter(account).send(targets(tokens), message, options, ctx)
    expect(result.variantProblem).toStrictEqual({ reason: 'UNAUTHENTICATED' })
    expect(result.outcomes).toStrictEqual(
      tokens.map(() => ({ kind: 'failed', reason: 'UNAUTHENTICATED' })),
    )
    expect((await fake.stats(account)).mints).toBe(2)
  })
})
