/**
 * The plan step: one page of a variant's audience becomes deliver batches on the queue, the page
 * is counted into `receivers` and `pending`, and the next page is planned by a new queue message.
 *
 * Order, for at-least-once delivery: the batches are enqueued first, then the page is counted
 * with a compare-and-set on the plan cursor, then the next plan message is sent. A plan message
 * redelivered after a crash enqueues its batches again under the same deterministic batch ids;
 * the deliver step applies each id once (a device may then be sent to twice, which push networks
 * tolerate far better than a lost message). Counted once, sent at least once.
 */
import { z } from 'zod'
import { openDb } from '../db/client'
import { findJob, findJobVariant } from '../db/jobs'
import { recordPlannedPage } from '../db/pipeline'
import { Criteria, Message } from '../push/message'
import { type AudienceRow, audiencePage, decodeCursor, encodeCursor } from './audience'
import type { DeliverMessage, PlanMessage, QueueMessage } from './messages'

/** Installations read per plan message. */
export const PAGE_ROWS = 1000
/** A deliver message stays well under Queues' 128 KB per message. */
export const DELIVER_MESSAGE_BYTES = 48 * 1024

/** What a job keeps for the pipeline until it completes. */
export const JobPayload = z.object({
  message: Message,
  criteria: Criteria,
  config: z.object({ ttl: z.number().int().min(0).optional() }),
})
export type JobPayload = z.infer<typeof JobPayload>

export type Enqueue = (messages: QueueMessage[]) => Promise<void>

export async function plan(msg: PlanMessage, env: Env, enqueue: Enqueue, now: () => number) {
  const db = openDb(env)
  const [job, counters] = await Promise.all([
    findJob(db, msg.jobId),
    findJobVariant(db, msg.jobId, msg.variantId),
  ])
  // A job deleted or finished, or its variant deleted meanwhile: nothing left to plan.
  if (!job?.payload || !counters) return

  const payload = JobPayload.parse(JSON.parse(job.payload))
  const page = await audiencePage(
    db,
    msg.variantId,
    payload.criteria,
    decodeCursor(msg.cursor),
    PAGE_ROWS,
  )
  const to = page.next ? encodeCursor(page.next) : `end:${msg.cursor ?? ''}`
  let cursorNow = counters.planCursor
  if (!counters.planned && counters.planCursor === msg.cursor) {
    await enqueue(deliverBatches(msg, page.rows))
    const last = page.next === null
    const page_ = { jobId: msg.jobId, variantId: msg.variantId, from: msg.cursor, to, last }
    const counted = await recordPlannedPage(db, page_, page.rows.length, now())
    cursorNow = counted
      ? to
      : ((await findJobVariant(db, msg.jobId, msg.variantId))?.planCursor ?? null)
  }
  // Also reached by a redelivered message whose page was counted but whose successor was lost.
  if (page.next && cursorNow === to) {
    await enqueue([{ kind: 'plan', jobId: msg.jobId, variantId: msg.variantId, cursor: to }])
  }
}

/** Splits a page into deliver messages by size; ids depend only on the page and position. */
export function deliverBatches(msg: PlanMessage, rows: AudienceRow[]): DeliverMessage[] {
  const batches: DeliverMessage[] = []
  let targets: DeliverMessage['targets'] = []
  let bytes = 0
  const flush = () => {
    if (targets.length === 0) return
    batches.push({
      kind: 'deliver',
      jobId: msg.jobId,
      variantId: msg.variantId,
      batchId: `${msg.jobId}:${msg.variantId}:${msg.cursor ?? ''}:${batches.length}`,
      attempt: 1,
      targets,
      page: msg.cursor,
    })
    targets = []
    bytes = 0
  }
  for (const row of rows) {
    const target = { installationId: row.id, token: row.deviceToken, registeredAt: row.updatedAt }
    const size = JSON.stringify(target).length + 1
    if (bytes + size > DELIVER_MESSAGE_BYTES) flush()
    targets.push(target)
    bytes += size
  }
  flush()
  return batches
}
