/**
 * The bodies the send pipeline puts on its queue, validated with zod when they come back: a
 * message that does not parse is a bug or a leftover of an older version, never trusted input.
 *
 * - `plan`: page one variant's audience from `cursor` and enqueue deliver batches.
 * - `deliver`: send one batch of devices and apply its outcome once (`batchId`).
 */
import { z } from 'zod'

export const Target = z.object({
  installationId: z.string(),
  token: z.string(),
  registeredAt: z.number(),
})

export const PlanMessage = z.object({
  kind: z.literal('plan'),
  jobId: z.string(),
  variantId: z.string(),
  cursor: z.string().nullable(),
})

export const DeliverMessage = z.object({
  kind: z.literal('deliver'),
  jobId: z.string(),
  variantId: z.string(),
  /** Deterministic: a redelivered plan makes the same ids, and a batch is applied once. */
  batchId: z.string(),
  attempt: z.number().int().min(1),
  targets: z.array(Target).min(1),
  /**
   * The plan cursor its page started from. The plan enqueues a page's batches before it counts
   * the page, so a batch may run first: it waits until the page is counted (see deliver.ts).
   */
  page: z.string().nullable().optional(),
  /**
   * On a retry batch: the batch whose devices it tries again. It counts its devices only once
   * its parent's outcome was applied and announced it (see db/pipeline.ts).
   */
  parentBatchId: z.string().optional(),
})

export const QueueMessage = z.discriminatedUnion('kind', [PlanMessage, DeliverMessage])

export type PlanMessage = z.infer<typeof PlanMessage>
export type DeliverMessage = z.infer<typeof DeliverMessage>
export type QueueMessage = z.infer<typeof QueueMessage>
