import { describe, expect, it } from 'vitest'
import { MAX_ATTEMPTS } from '../../src/dispatch/retry'
import { tally } from '../../src/dispatch/tally'
import type { Outcome, Target } from '../../src/networks/adapter'

const targets = (n: number): Target[] =>
  Array.from({ length: n }, (_, i) => ({
    installationId: `i${i}`,
    token: `t${i}`,
    registeredAt: 0,
  }))

const unproven: Outcome = { kind: 'invalid_token', reason: 'BadDeviceToken', unproven: true }

describe('tally', () => {
  it('counts each outcome and prunes the gone devices', () => {
    const t = tally(
      targets(5),
      {
        outcomes: [
          { kind: 'delivered' },
          { kind: 'invalid_token', reason: 'Unregistered', since: 42 },
          { kind: 'failed', reason: 'PayloadTooLarge' },
          { kind: 'retry', reason: 'ServiceUnavailable', retryAfterMs: 7000 },
          { kind: 'retry', reason: 'ServiceUnavailable' },
        ],
      },
      1,
    )
    expect(t).toMatchObject({ delivered: 1, failed: 1, invalidTokens: 1, retryAfterMs: 7000 })
    expect(t.prune).toEqual([{ installationId: 'i1', since: 42 }])
    expect(t.retry.map((r) => r.installationId)).toEqual(['i3', 'i4'])
    expect(Object.fromEntries(t.reasons)).toEqual({ Unregistered: 1, PayloadTooLarge: 1 })
  })

  it('counts a retryable answer as failed on the last attempt', () => {
    const t = tally(
      targets(1),
      { outcomes: [{ kind: 'retry', reason: 'UNAVAILABLE' }] },
      MAX_ATTEMPTS,
    )
    expect(t).toMatchObject({ failed: 1, retry: [] })
    expect(Object.fromEntries(t.reasons)).toEqual({ UNAVAILABLE: 1 })
  })

  it('prunes an unproven "gone" when the same batch delivered to some device', () => {
    const t = tally(targets(3), { outcomes: [unproven, { kind: 'delivered' }, unproven] }, 1)
    expect(t.prune.map((p) => p.installationId)).toEqual(['i0', 'i2'])
    expect(t).toMatchObject({ invalidTokens: 2, delivered: 1, variantProblem: undefined })
  })

  it('keeps every device of a batch whose unproven answers nothing contradicts', () => {
    // 199 "bad token" and one timeout is what a wrong APNs environment looks like.
    const outcomes: Outcome[] = [...Array(3).fill(unproven), { kind: 'retry', reason: 'timeout' }]
    const t = tally(targets(4), { outcomes }, 1)
    expect(t.prune).toEqual([])
    expect(t).toMatchObject({ invalidTokens: 0, failed: 3, variantProblem: 'BadDeviceToken' })
    expect(t.retry.map((r) => r.installationId)).toEqual(['i3'])
  })

  it('keeps the single device of a batch of one', () => {
    const t = tally(targets(1), { outcomes: [unproven] }, 2)
    expect(t.prune).toEqual([])
    expect(t).toMatchObject({ failed: 1, variantProblem: 'BadDeviceToken' })
  })
})
