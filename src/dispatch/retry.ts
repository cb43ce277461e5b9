/**
 * When to try a transient failure again: exponential backoff with full jitter (AWS's
 * "Exponential Backoff And Jitter"), never sooner than the network's Retry-After, within what
 * Queues accept as a delay. Pure: the caller passes the random source.
 */

/** Attempts per device, the first included; after the last a retryable answer counts as failed. */
export const MAX_ATTEMPTS = 5

const BASE_SECONDS = 5
const CAP_SECONDS = 15 * 60
/** Queues refuse delays over 12 hours. */
const QUEUE_MAX_DELAY_SECONDS = 12 * 60 * 60

export function retryDelaySeconds(
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(CAP_SECONDS, BASE_SECONDS * 2 ** (attempt - 1))
  const jittered = Math.ceil(ceiling * random())
  const floor = Math.ceil((retryAfterMs ?? 0) / 1000)
  return Math.min(QUEUE_MAX_DELAY_SECONDS, Math.max(1, jittered, floor))
}
