/**
 * Push jobs: created by the sender in one batch with their per-variant counters and idempotency
 * key, read by the pipeline and the metrics API.
 */
import { and, eq, gt, lte } from 'drizzle-orm'
import type { Db } from './client'
import { idempotencyKeys, jobVariants, pushJobs } from './schema'

export type JobRow = typeof pushJobs.$inferSelect
export type JobVariantRow = typeof jobVariants.$inferSelect

/** How long an `Idempotency-Key` returns the first job. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

export async function findJobByIdempotencyKey(
  db: Db,
  applicationId: string,
  key: string,
  now: number,
) {
  const [row] = await db
    .select({ jobId: idempotencyKeys.jobId })
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.applicationId, applicationId),
        eq(idempotencyKeys.key, key),
        gt(idempotencyKeys.createdAt, now - IDEMPOTENCY_WINDOW_MS),
      ),
    )
  return row?.jobId ?? null
}

export type NewJob = {
  id: string
  applicationId: string
  rawJsonMessage: string
  payload: string
  ipAddress: string | null
  clientIdentifier: string | null
  submitDate: number
  variantIds: string[]
  idempotencyKey: string | null
}

/**
 * Stores a job, its counters and its idempotency key in one atomic batch. When a live job holds
 * the same idempotency key (a concurrent retry won the race), nothing is written and that job's
 * id is returned instead.
 */
export async function createJob(db: Db, job: NewJob): Promise<{ jobId: string; created: boolean }> {
  const jobRow = db.insert(pushJobs).values({
    id: job.id,
    applicationId: job.applicationId,
    rawJsonMessage: job.rawJsonMessage,
    payload: job.payload,
    ipAddress: job.ipAddress,
    clientIdentifier: job.clientIdentifier,
    submitDate: job.submitDate,
    status: job.variantIds.length === 0 ? 'done' : 'queued',
  })
  const counters = job.variantIds.map((variantId) =>
    db.insert(jobVariants).values({ jobId: job.id, variantId, updatedAt: job.submitDate }),
  )
  const key = job.idempotencyKey
  if (key === null) {
    await db.batch([jobRow, ...counters])
    return { jobId: job.id, created: true }
  }
  const own = and(
    eq(idempotencyKeys.applicationId, job.applicationId),
    eq(idempotencyKeys.key, key),
  )
  try {
    await db.batch([
      // An expired key may be reused; a live one makes the insert below fail the whole batch.
      db
        .delete(idempotencyKeys)
        .where(and(own, lte(idempotencyKeys.createdAt, job.submitDate - IDEMPOTENCY_WINDOW_MS))),
      db.insert(idempotencyKeys).values({
        applicationId: job.applicationId,
        key,
        jobId: job.id,
        createdAt: job.submitDate,
      }),
      jobRow,
      ...counters,
    ])
    return { jobId: job.id, created: true }
  } catch (error) {
    const existing = await findJobByIdempotencyKey(db, job.applicationId, key, job.submitDate)
    if (existing) return { jobId: existing, created: false }
    throw error
  }
}

/** Takes back a job that could not be queued, with the idempotency key that points to it. */
export async function deleteJob(db: Db, id: string) {
  await db.batch([
    db.delete(idempotencyKeys).where(eq(idempotencyKeys.jobId, id)),
    db.delete(pushJobs).where(eq(pushJobs.id, id)),
  ])
}

export async function findJob(db: Db, id: string) {
  const [row] = await db.select().from(pushJobs).where(eq(pushJobs.id, id))
  return row ?? null
}

export async function findJobVariant(db: Db, jobId: string, variantId: string) {
  const [row] = await db
    .select()
    .from(jobVariants)
    .where(and(eq(jobVariants.jobId, jobId), eq(jobVariants.variantId, variantId)))
  return row ?? null
}
