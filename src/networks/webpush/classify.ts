/**
 * What a push service's answer means for one subscription (RFC 8030 section 5, RFC 8292
 * section 4). Push services give no reason strings worth keying on, so the status code decides;
 * the reason names below are ours and are what the job's metrics show.
 */

import type { Outcome } from '../adapter'
import { parseRetryAfter } from '../retry-after'

export const WEB_PUSH_REASONS = {
  /** 404: RFC 8030 section 7.3, the subscription has expired. */
  expired: 'expired',
  /** 410: the user agent unsubscribed (Mozilla, Google and Apple answer 410 for it). */
  unsubscribed: 'unsubscribed',
  /** 413: the body is over what this service accepts; the same bytes will never fit. */
  payloadTooLarge: 'payload_too_large',
  /** 429: RFC 8030 section 8.4. */
  throttled: 'throttled',
  /** 5xx: the service is down or overloaded. */
  unavailable: 'unavailable',
  /** 400: the service refused the request itself (a header, the encoding). */
  badRequest: 'bad_request',
  /**
   * 401 or 403: the service refused our VAPID token, or the subscription was made with another
   * application server key (RFC 8292 section 4.2). The variant's credentials are at fault.
   */
  vapidRejected: 'vapid_rejected',
  /** The stored token is not a usable subscription (its JSON or its keys). */
  badSubscription: 'bad_subscription',
  /**
   * The endpoint breaks src/push/push-endpoint.ts (`http:`, an IP address, a local name, a port)
   * and insecure endpoints are not allowed. No request is made and the row is kept.
   */
  endpointRefused: 'endpoint_refused',
  /** The variant's VAPID key pair cannot sign. */
  vapidKeyUnusable: 'vapid_key_unusable',
  /** No answer: the connection failed or the request timed out. */
  networkError: 'network_error',
  timeout: 'timeout',
} as const

export type WebPushReason = (typeof WEB_PUSH_REASONS)[keyof typeof WEB_PUSH_REASONS]

/** An answer is an outcome for the device, or a problem of the variant that stops the batch. */
export type WebPushAnswer = Outcome | { kind: 'variant_problem'; reason: WebPushReason }

const R = WEB_PUSH_REASONS

/** Classifies one answer; `now` (ms) turns an HTTP-date `Retry-After` into a delay. */
export function classifyWebPush(status: number, headers: Headers, now: number): WebPushAnswer {
  if (status >= 200 && status <= 202) return { kind: 'delivered' }
  if (status === 404) return { kind: 'invalid_token', reason: R.expired }
  if (status === 410) return { kind: 'invalid_token', reason: R.unsubscribed }
  if (status === 413) return { kind: 'failed', reason: R.payloadTooLarge }
  if (status === 401 || status === 403) return { kind: 'variant_problem', reason: R.vapidRejected }
  if (status === 400) return { kind: 'failed', reason: R.badRequest }

  if (status === 429 || status >= 500) {
    const reason = status === 429 ? R.throttled : R.unavailable
    const retryAfterMs = parseRetryAfter(headers.get('Retry-After'), now)
    return retryAfterMs === undefined
      ? { kind: 'retry', reason }
      : { kind: 'retry', reason, retryAfterMs }
  }

  return { kind: 'failed', reason: `http_${status}` }
}
