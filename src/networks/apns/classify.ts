/**
 * APNs answer → what happens to the device, the batch and the provider token. Pure: the status,
 * the body, the headers and `now` decide everything.
 *
 * Apple answers 200 with an empty body, or an error status with `{"reason": "...", "timestamp":
 * <ms>}` (the timestamp only with 410). The reason is the verdict; the status decides only when
 * the body is missing, unreadable or names a reason Apple added after this table was written.
 * Reasons are Apple's own words, kept verbatim; `http_<status>` is ours when Apple gave none.
 *
 * Reference: Apple, "Handling notification responses from APNs" (status codes and reasons) and
 * "Establishing a token-based connection to APNs" (provider token renewal).
 *
 * `BadDeviceToken` and `DeviceTokenNotForTopic` prune the device, as Apple asks, though a variant
 * whose `production` flag or `bundleId` is wrong gets them for every device. One answer cannot
 * tell the two apart, so they are `unproven`: they prune only when the same batch delivered to
 * some device (dispatch/tally.ts).
 */
import { z } from 'zod'
import type { Outcome } from '../adapter'
import { parseRetryAfter } from '../retry-after'
import type { ApnsResponse } from './transport'

/** Reasons that also answer every device of a misconfigured variant. */
const UNPROVEN = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic'])

/** What a reason means to Pushgate. */
type Action =
  /** Final for this message, the device is kept. */
  | 'failed'
  /** The device is gone: prune it (when Apple gives a timestamp, only if registered before). */
  | 'invalid_token'
  /** Transient for this device: try again later. */
  | 'retry'
  /** The provider token is throttled: this device and every one not yet sent try again later. */
  | 'retry_batch'
  /** The variant's key, team or topic is wrong: stop the batch, prune nothing. */
  | 'variant_problem'
  /** The provider token is older than Apple accepts: renew it once and send again. */
  | 'renew_provider_token'

/** Every reason Apple documents, with what it means here. */
export const APNS_REASONS = {
  // 400
  BadCollapseId: 'failed',
  BadDeviceToken: 'invalid_token',
  BadExpirationDate: 'failed',
  BadMessageId: 'failed',
  BadPriority: 'failed',
  // The variant's bundleId is not a topic Apple knows, or its team may not push to it.
  BadTopic: 'variant_problem',
  DeviceTokenNotForTopic: 'invalid_token',
  DuplicateHeaders: 'failed',
  IdleTimeout: 'retry',
  InvalidPushType: 'failed',
  MissingDeviceToken: 'failed',
  MissingTopic: 'variant_problem',
  PayloadEmpty: 'failed',
  TopicDisallowed: 'variant_problem',
  // 403
  BadCertificate: 'variant_problem',
  BadCertificateEnvironment: 'variant_problem',
  ExpiredProviderToken: 'renew_provider_token',
  Forbidden: 'variant_problem',
  InvalidProviderToken: 'variant_problem',
  MissingProviderToken: 'variant_problem',
  UnrelatedKeyIdInToken: 'variant_problem',
  BadEnvironmentKeyInToken: 'variant_problem',
  // 404, 405
  BadPath: 'failed',
  MethodNotAllowed: 'failed',
  // 410. The reason decides whatever the status, so an ExpiredToken under 400 prunes too.
  ExpiredToken: 'invalid_token',
  Unregistered: 'invalid_token',
  // 413
  PayloadTooLarge: 'failed',
  // 429: the first is about our provider token, the second about one device.
  TooManyProviderTokenUpdates: 'retry_batch',
  TooManyRequests: 'retry',
  // 500, 503
  InternalServerError: 'retry',
  ServiceUnavailable: 'retry',
  Shutdown: 'retry',
} as const satisfies Record<string, Action>

export type ApnsReason = keyof typeof APNS_REASONS

/** What the adapter does with one answer. */
export type ApnsVerdict =
  | Outcome
  | { kind: 'variant_problem'; reason: string }
  | { kind: 'retry_batch'; reason: string; retryAfterMs?: number }
  | { kind: 'provider_token_expired' }

// Reasons are short CamelCase words; anything else is not worth keeping in metrics.
const ErrorBody = z.object({
  reason: z.string().regex(/^[A-Za-z]{1,64}$/),
  timestamp: z.number().int().nonnegative().optional().catch(undefined),
})

export type ApnsErrorBody = z.infer<typeof ErrorBody>

/** Reads Apple's error body; an empty, HTML or otherwise foreign body gives undefined. */
export function parseApnsError(text: string): ApnsErrorBody | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const parsed = ErrorBody.safeParse(json)
  return parsed.success ? parsed.data : undefined
}

export function isApnsReason(reason: string): reason is ApnsReason {
  return Object.hasOwn(APNS_REASONS, reason)
}

/** Decides what one answer means; `now` (ms) turns an HTTP-date Retry-After into a delay. */
export function classifyApns(
  answer: Pick<ApnsResponse, 'status' | 'headers' | 'body'>,
  now: number,
): ApnsVerdict {
  const { status } = answer
  if (status >= 200 && status < 300) return { kind: 'delivered' }

  const error = parseApnsError(answer.body)
  const reason = error?.reason ?? `http_${status}`
  const action = error && isApnsReason(error.reason) ? APNS_REASONS[error.reason] : byStatus(status)
  // Apple sends no Retry-After today; a proxy or a future APNs might, and it is honoured.
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after'] ?? null, now)
  const after = retryAfterMs === undefined ? {} : { retryAfterMs }

  switch (action) {
    case 'failed':
      return { kind: 'failed', reason }
    case 'invalid_token':
      if (UNPROVEN.has(reason)) return { kind: 'invalid_token', reason, unproven: true }
      return error?.timestamp === undefined
        ? { kind: 'invalid_token', reason }
        : { kind: 'invalid_token', reason, since: error.timestamp }
    case 'retry':
      return { kind: 'retry', reason, ...after }
    case 'retry_batch':
      return { kind: 'retry_batch', reason, ...after }
    case 'variant_problem':
      return { kind: 'variant_problem', reason }
    case 'renew_provider_token':
      return { kind: 'provider_token_expired' }
  }
}

// For answers without a reason Pushgate knows: what the status alone says.
function byStatus(status: number): Action {
  if (status === 403) return 'variant_problem'
  if (status === 410) return 'invalid_token'
  if (status === 429 || status >= 500) return 'retry'
  return 'failed'
}
