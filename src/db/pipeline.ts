/**
 * The writes of the send pipeline, each one atomic D1 batch that keeps, for every job and
 * variant at every moment, `receivers = delivered + failed + invalidTokens + pending`.
 *
 * - A planned page adds its devices to `receivers` and `pending` with a compare-and-set on the
 *   plan cursor, so a redelivered plan message counts nothing twice.
 * - An applied deliver batch moves its devices from `pending` to their outcome, records reasons
 *   and prunes dead devices, guarded by `applied_batches`: Queues deliver at least once, and a
 *   batch id seen before changes nothing.
 * - The same write announces the batch's retry batch, if it queued one: a row of
 *   `applied_batches` with `applied_at = 0`. Only an announced retry batch may count its devices,
 *   so that a copy queued by an attempt whose outcome was never applied (the batch was sent
 *   again, or dead-lettered and counted as failed) counts nothing.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import type { Prune } from '../dispatch/tally'
import { chunk, type Db, MAX_BOUND_PARAMETERS } from './client'
import { appliedBatches, installations, jobReasons, jobVariants, pushJobs } from './schema'

/**
 * Counts one planned page if the variant's plan cursor is still `from`; answers whether it did.
 * `to` is the cursor after the page; `last` closes the plan.
 */
export async function recordPlannedPage(
  db: Db,
  page: { jobId: string; variantId: string; from: string | null; to: string; last: boolean },
  count: number,
  now: number,
): Promise<boolean> {
  const cursorIs =
    page.from === null
      ? sql`${jobVariants.planCursor} IS NULL`
      : eq(jobVariants.planCursor, page.from)
  const [updated] = await db.batch([
    db
      .update(jobVariants)
      .set({
        receivers: sql`${jobVariants.receivers} + ${count}`,
        pending: sql`${jobVariants.pending} + ${count}`,
        planCursor: page.to,
        planned: page.last,
        updatedAt: now,
      })
      .where(
        and(
          eq(jobVariants.jobId, page.jobId),
          eq(jobVariants.variantId, page.variantId),
          eq(jobVariants.planned, false),
          cursorIs,
        ),
      )
      .returning({ jobId: jobVariants.jobId }),
    db
      .update(pushJobs)
      .set({
        totalReceivers: sql`(SELECT COALESCE(SUM(${jobVariants.receivers}), 0) FROM ${jobVariants}
          WHERE ${jobVariants.jobId} = ${page.jobId})`,
        status: sql`CASE WHEN ${pushJobs.status} = 'queued' THEN 'sending' ELSE ${pushJobs.status} END`,
      })
      .where(eq(pushJobs.id, page.jobId)),
    completeIfDone(db, page.jobId),
  ])
  return updated.length === 1
}

export type BatchOutcome = {
  jobId: string
  variantId: string
  batchId: string
  delivered: number
  failed: number
  invalidTokens: number
  reasons: Map<string, number>
  prune: Prune[]
  variantProblem: string | undefined
  /** The batch that carries this batch's devices to try again, when one was queued. */
  retryBatchId?: string | undefined
}

/** `applied_at` of a batch that was announced by its parent but has not been applied yet. */
const ANNOUNCED = 0

const appliedRow = (batchId: string) =>
  sql`EXISTS (SELECT 1 FROM ${appliedBatches} WHERE ${appliedBatches.batchId} = ${batchId}
    AND ${appliedBatches.appliedAt} > ${ANNOUNCED})`

/** Applies a deliver batch's outcome once; answers false when the batch was applied before. */
export async function applyBatch(db: Db, outcome: BatchOutcome, now: number): Promise<boolean> {
  const { jobId, variantId, batchId } = outcome
  const notApplied = sql`NOT ${appliedRow(batchId)}`
  const settled = outcome.delivered + outcome.failed + outcome.invalidTokens
  const statements: BatchItem<'sqlite'>[] = [
    db
      .update(jobVariants)
      .set({
        delivered: sql`${jobVariants.delivered} + ${outcome.delivered}`,
        failed: sql`${jobVariants.failed} + ${outcome.failed}`,
        invalidTokens: sql`${jobVariants.invalidTokens} + ${outcome.invalidTokens}`,
        pending: sql`${jobVariants.pending} - ${settled}`,
        ...(outcome.variantProblem !== undefined && { reason: outcome.variantProblem }),
        updatedAt: now,
      })
      .where(and(eq(jobVariants.jobId, jobId), eq(jobVariants.variantId, variantId), notApplied)),
  ]
  for (const [reason, count] of outcome.reasons) {
    // Two builder statements, not one raw INSERT ... SELECT: drizzle's D1 batch cannot bind the
    // parameters of a raw `db.run(sql)` item and throws on it.
    const own = and(
      eq(jobReasons.jobId, jobId),
      eq(jobReasons.variantId, variantId),
      eq(jobReasons.reason, reason),
    )
    statements.push(
      db.insert(jobReasons).values({ jobId, variantId, reason, count: 0 }).onConflictDoNothing(),
      db
        .update(jobReasons)
        .set({ count: sql`${jobReasons.count} + ${count}` })
        .where(and(own, notApplied)),
    )
  }
  statements.push(...pruneStatements(db, variantId, outcome.prune))
  if (outcome.retryBatchId !== undefined) {
    statements.push(
      db
        .insert(appliedBatches)
        .select(
          db
            .select({
              batchId: sql<string>`${outcome.retryBatchId}`.as('batch_id'),
              jobId: pushJobs.id,
              appliedAt: sql<number>`${ANNOUNCED}`.as('applied_at'),
            })
            .from(pushJobs)
            .where(and(eq(pushJobs.id, jobId), notApplied)),
        )
        .onConflictDoNothing(),
    )
  }
  statements.push(
    db
      .insert(appliedBatches)
      .values({ batchId, jobId, appliedAt: now })
      .onConflictDoUpdate({
        target: appliedBatches.batchId,
        set: { appliedAt: now },
        setWhere: eq(appliedBatches.appliedAt, ANNOUNCED),
      })
      .returning({ batchId: appliedBatches.batchId }),
  )
  statements.push(completeIfDone(db, jobId))
  const results = await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]])
  const inserted = results.at(-2)
  return Array.isArray(inserted) && inserted.length === 1
}

function pruneStatements(db: Db, variantId: string, prune: Prune[]) {
  const statements: BatchItem<'sqlite'>[] = []
  const always = prune.filter((p) => p.since === undefined).map((p) => p.installationId)
  for (const ids of chunk(always, MAX_BOUND_PARAMETERS - 1)) {
    statements.push(
      db
        .delete(installations)
        .where(and(eq(installations.variantId, variantId), inArray(installations.id, ids))),
    )
  }
  for (const p of prune) {
    if (p.since === undefined) continue
    // Only a device that has not registered again since the network saw it gone.
    statements.push(
      db
        .delete(installations)
        .where(
          and(
            eq(installations.variantId, variantId),
            eq(installations.id, p.installationId),
            lt(installations.updatedAt, p.since),
          ),
        ),
    )
  }
  return statements
}

/** Marks the job done, and drops its payload, once every variant is planned and settled. */
function completeIfDone(db: Db, jobId: string) {
  return db
    .update(pushJobs)
    .set({ status: 'done', payload: null })
    .where(
      and(
        eq(pushJobs.id, jobId),
        sql`NOT EXISTS (SELECT 1 FROM ${jobVariants} WHERE ${jobVariants.jobId} = ${jobId}
          AND (${jobVariants.planned} = 0 OR ${jobVariants.pending} > 0))`,
      ),
    )
}

/** Closes a variant whose planning was abandoned (dead-lettered): what was counted stands. */
export async function abandonPlan(
  db: Db,
  jobId: string,
  variantId: string,
  reason: string,
  now: number,
) {
  await db.batch([
    db
      .update(jobVariants)
      .set({ planned: true, reason, updatedAt: now })
      .where(and(eq(jobVariants.jobId, jobId), eq(jobVariants.variantId, variantId))),
    completeIfDone(db, jobId),
  ])
}

/** Whether a deliver batch's outcome was applied, or only announced by its parent, or neither. */
export async function batchState(
  db: Db,
  batchId: string,
): Promise<'applied' | 'announced' | 'unknown'> {
  const [row] = await db
    .select({ appliedAt: appliedBatches.appliedAt })
    .from(appliedBatches)
    .where(eq(appliedBatches.batchId, batchId))
  if (!row) return 'unknown'
  return row.appliedAt > ANNOUNCED ? 'applied' : 'announced'
}

export async function isApplied(db: Db, batchId: string) {
  return (await batchState(db, batchId)) === 'applied'
}

/**
 * The safety net for messages lost beyond Queues' own retries (a consumer that crashed between
 * enqueueing and counting): a variant of a job that has not moved for `staleMs` is closed, its
 * pending devices counted as failed (`abandoned`), and the job completed.
 */
export async function closeStaleJobs(db: Db, staleMs: number, now: number) {
  const stale = and(
    lt(jobVariants.updatedAt, now - staleMs),
    sql`(${jobVariants.planned} = 0 OR ${jobVariants.pending} > 0)`,
  )
  const closed = await db
    .update(jobVariants)
    .set({
      failed: sql`${jobVariants.failed} + max(${jobVariants.pending}, 0)`,
      pending: 0,
      receivers: sql`${jobVariants.delivered} + ${jobVariants.failed} + max(${jobVariants.pending}, 0) + ${jobVariants.invalidTokens}`,
      planned: true,
      reason: sql`COALESCE(${jobVariants.reason}, 'abandoned')`,
      updatedAt: now,
    })
    .where(stale)
    .returning({ jobId: jobVariants.jobId })
  for (const jobId of new Set(closed.map((row) => row.jobId))) {
    await completeIfDone(db, jobId)
  }
  return closed.length
}
