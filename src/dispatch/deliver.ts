/**
 * The deliver step: one batch of one variant's devices goes to its network, and the outcome is
 * applied once. Devices to try again go back on the queue under a new deterministic batch id,
 * before the outcome is applied, so that a crash between the two loses nothing: the redelivered
 * batch finds its retry already queued (same id) and its outcome not yet applied.
 */
import { openDb } from '../db/client'
import { findJob } from '../db/jobs'
import { applyBatch, isApplied } from '../db/pipeline'
import type { VariantRow } from '../db/variants'
import { findVariantById } from '../db/variants'
import type { AdapterContext, NetworkAdapter } from '../networks/adapter'
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
  const [job, variant] = await Promise.all([
    findJob(db, msg.jobId),
    findVariantById(db, msg.variantId),
  ])
  // Deleted meanwhile (the cascade removed its counters too), or already finished.
  if (!job?.payload || !variant) return

  // Applied before (a redelivery): do not send the same batch again.
  if (await isApplied(db, msg.batchId)) return

  const payload = JobPayload.parse(JSON.parse(job.payload))
  const adapter = await deps.adapterFor(variant)
  const options = { ttl: payload.config.ttl, pushMessageId: job.id }
  const result = await adapter.send(msg.targets, payload.message, options, deps.context)
  const t = tally(msg.targets, result, msg.attempt)

  if (t.retry.length > 0) {
    const delay = retryDelaySeconds(msg.attempt, t.retryAfterMs, deps.random)
    const retry: DeliverMessage = {
      ...msg,
      batchId: `${msg.batchId}/${msg.attempt + 1}`,
      attempt: msg.attempt + 1,
      targets: t.retry,
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

/** A deliver batch that reached the dead-letter queue: its devices count as failed, once. */
export async function closeDeadBatch(msg: DeliverMessage, env: Env, now: number) {
  await applyBatch(
    openDb(env),
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
