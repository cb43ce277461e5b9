/**
 * The deliver step: one batch of one variant's devices goes to its network, and the outcome is
 * applied once. Devices to try again go back on the queue as a new retry batch before the
 * outcome is applied, so that a crash between the two loses nothing; the outcome's write then
 * announces that retry batch. A batch whose outcome was not applied is sent again by Queues and
 * may queue another retry batch with other devices: only the announced one counts, the others
 * are stale copies and are dropped, so that no device is counted twice.
 */
import { openDb } from '../db/client'
import { findJob, findJobVariant } from '../db/jobs'
import { applyBatch, batchState, isApplied } from '../db/pipeline'
import type { VariantRow } from '../db/variants'
import { findVariantById } from '../db/variants'
import type { AdapterContext, BatchResult, NetworkAdapter } from '../networks/adapter'
import type { DeliverMessage } from './messages'
import { JobPayload } from './plan'
import { retryDelaySeconds } from './retry'
import { tally } from './tally'

export type DeliverDeps = {
  now: () => number
  random: () => number
  adapterFor: (variant: VariantRow) => Promise<NetworkAdapter>
  context: AdapterContext
  retryLater: (message: DeliverMessage, delaySeconds: number) => Promise<void>
}

export async function deliver(msg: DeliverMessage, env: Env, deps: DeliverDeps) {
  const db = openDb(env)
  const [job, variant, counters] = await Promise.all([
    findJob(db, msg.jobId),
    findVariantById(db, msg.variantId),
    findJobVariant(db, msg.jobId, msg.variantId),
  ])
  // Deleted meanwhile (the cascade removed its counters too), or already finished.
  if (!job?.payload || !variant || !counters) return

  // A retry batch's parent first: its outcome and the announcement of this batch are one write,
  // so once the parent reads as applied, this batch's own state below is final.
  const parentApplied =
    msg.parentBatchId === undefined ? true : await isApplied(db, msg.parentBatchId)
  // Applied before (a redelivery): do not send the same batch again.
  const state = await batchState(db, msg.batchId)
  if (state === 'applied') return
  if (!pageCounted(msg, counters)) {
    // Its devices are in no count yet. Planning was abandoned: they never will be, drop it;
    // else the plan message is being retried and will count them: Queues brings this one back.
    if (counters.planned) return
    throw new Error('a deliver batch arrived before its page was counted')
  }
  if (msg.parentBatchId !== undefined && state === 'unknown') {
    // Not announced: a stale copy if its parent's outcome is applied (or was dead-lettered),
    // else the parent is still being applied: Queues brings this one back later.
    if (parentApplied) return
    throw new Error('a retry batch arrived before its parent batch was applied')
  }

  const payload = JobPayload.parse(JSON.parse(job.payload))
  const ttl = remainingTtl(payload.config.ttl, job.submitDate, deps.now())
  const result: BatchResult =
    ttl === 'expired' && msg.attempt > 1
      ? { outcomes: msg.targets.map(() => ({ kind: 'failed', reason: 'expired' })) }
      : await (await deps.adapterFor(variant)).send(
          msg.targets,
          payload.message,
          { ttl: ttl === 'expired' ? 0 : ttl, pushMessageId: job.id },
          deps.context,
        )
  const t = tally(msg.targets, result, msg.attempt)

  let retry: DeliverMessage | undefined
  if (t.retry.length > 0) {
    const delay = retryDelaySeconds(msg.attempt, t.retryAfterMs, deps.random)
    retry = {
      ...msg,
      // Unique per attempt: a copy queued by an attempt whose outcome is lost is never announced.
      batchId: `${msg.batchId}/${msg.attempt + 1}.${crypto.randomUUID().slice(0, 8)}`,
      attempt: msg.attempt + 1,
      targets: t.retry,
      parentBatchId: msg.batchId,
    }
    await deps.retryLater(retry, delay)
  }

  const applied = await applyBatch(
    db,
    {
      jobId: msg.jobId,
      variantId: msg.variantId,
      batchId: msg.batchId,
      delivered: t.delivered,
      failed: t.failed,
      invalidTokens: t.invalidTokens,
      reasons: t.reasons,
      prune: t.prune,
      variantProblem: t.variantProblem,
      retryBatchId: retry?.batchId,
    },
    deps.now(),
  )
  console.log(
    JSON.stringify({
      event: 'batch_delivered',
      network: variant.type,
      jobId: msg.jobId,
      attempt: msg.attempt,
      delivered: t.delivered,
      failed: t.failed,
      invalidTokens: t.invalidTokens,
      retried: t.retry.length,
      ...(t.variantProblem && { reason: t.variantProblem }),
      ...(!applied && { duplicate: true }),
    }),
  )
}

/**
 * What is left of the message's time to live: `ttl` counts from the send request, not from
 * each attempt, so a retry or a late page never stretches it. A first attempt whose TTL ran out
 * in the queue still goes out with 0 ("now or never"); a retry after it is `expired`.
 */
export function remainingTtl(
  ttl: number | undefined,
  submitDate: number,
  now: number,
): number | undefined | 'expired' {
  if (ttl === undefined) return undefined
  const left = ttl - Math.floor((now - submitDate) / 1000)
  return left > 0 || (ttl === 0 && left === 0) ? left : 'expired'
}

/**
 * Whether the devices of a batch made by the plan are counted in `receivers` and `pending`: its
 * page is counted once the variant's plan cursor has moved on from where the page started.
 */
function pageCounted(msg: DeliverMessage, counters: { planCursor: string | null }) {
  if (msg.parentBatchId !== undefined || msg.page === undefined) return true
  return counters.planCursor !== msg.page
}

/** A deliver batch that reached the dead-letter queue: its devices count as failed, once. */
export async function closeDeadBatch(msg: DeliverMessage, env: Env, now: number) {
  const db = openDb(env)
  // A retry batch its parent never announced carries devices its parent counts.
  if (msg.parentBatchId !== undefined && (await batchState(db, msg.batchId)) === 'unknown') return
  // Devices of a page that was never counted are in no count: there is nothing to close.
  const counters = await findJobVariant(db, msg.jobId, msg.variantId)
  if (!counters || !pageCounted(msg, counters)) return
  await applyBatch(
    db,
    {
      jobId: msg.jobId,
      variantId: msg.variantId,
      batchId: msg.batchId,
      delivered: 0,
      failed: msg.targets.length,
      invalidTokens: 0,
      reasons: new Map([['dead_lettered', msg.targets.length]]),
      prune: [],
      variantProblem: undefined,
    },
    now,
  )
}
