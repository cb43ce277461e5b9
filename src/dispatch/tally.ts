/**
 * What one deliver batch did, from its outcomes: counts per kind, failure reasons, the devices
 * to prune and the devices to try again. Pure, so that the accounting is tested without I/O.
 */
import type { BatchResult, Target } from '../networks/adapter'
import { MAX_ATTEMPTS } from './retry'

export type Prune = { installationId: string; since?: number }

export type Tally = {
  delivered: number
  failed: number
  invalidTokens: number
  prune: Prune[]
  retry: Target[]
  /** The largest Retry-After among the retried devices. */
  retryAfterMs: number | undefined
  reasons: Map<string, number>
  /** A problem of the variant's credentials or configuration, for the job's `reason`. */
  variantProblem: string | undefined
}

export function tally(targets: Target[], result: BatchResult, attempt: number): Tally {
  const t: Tally = {
    delivered: 0,
    failed: 0,
    invalidTokens: 0,
    prune: [],
    retry: [],
    retryAfterMs: undefined,
    reasons: new Map(),
    variantProblem: result.variantProblem?.reason,
  }
  const reason = (name: string) => t.reasons.set(name, (t.reasons.get(name) ?? 0) + 1)
  // An unproven "gone" prunes only beside a delivery, which shows the variant's set-up is right.
  const proven = result.outcomes.some((o) => o.kind === 'delivered')
  targets.forEach((target, i) => {
    const outcome = result.outcomes[i] ?? { kind: 'failed', reason: 'no_answer' }
    if (outcome.kind === 'invalid_token' && outcome.unproven && !proven) {
      t.failed++
      reason(outcome.reason)
      t.variantProblem ??= outcome.reason
      return
    }
    switch (outcome.kind) {
      case 'delivered':
        t.delivered++
        return
      case 'invalid_token':
        t.invalidTokens++
        reason(outcome.reason)
        t.prune.push({ installationId: target.installationId, since: outcome.since })
        return
      case 'failed':
        t.failed++
        reason(outcome.reason)
        return
      case 'retry':
        if (attempt >= MAX_ATTEMPTS) {
          t.failed++
          reason(outcome.reason)
          return
        }
        t.retry.push(target)
        if (outcome.retryAfterMs !== undefined) {
          t.retryAfterMs = Math.max(t.retryAfterMs ?? 0, outcome.retryAfterMs)
        }
        return
    }
  })
  return t
}
