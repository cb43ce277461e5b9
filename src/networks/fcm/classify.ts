/**
 * FCM HTTP v1 answer → what happens to the device and to the variant. Pure: the status, the
 * parsed error body, the headers and `now` decide everything.
 *
 * Google's error body is `{"error": {code, message, status, details: [...]}}`. The FCM verdict is
 * the `errorCode` of the detail typed `google.firebase.fcm.v1.FcmError`; the HTTP status alone is
 * ambiguous, most of all 404, which means "this token is gone" with an UNREGISTERED detail and
 * "this project does not exist" without one (case 7). Reasons are FCM's own words where FCM gives
 * one (`UNREGISTERED`, `QUOTA_EXCEEDED`, `PERMISSION_DENIED`...), and lower-case words for what
 * Pushgate concludes itself (`invalid_argument`, `project_not_found`, `http_418`).
 *
 * References: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode and
 * https://firebase.google.com/docs/cloud-messaging/error-codes
 */
import { z } from 'zod'
import type { Outcome } from '../adapter'
import { parseRetryAfter } from '../retry-after'

export const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError'
export const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest'

/** What the adapter does with one answer. */
export type FcmVerdict =
  | Outcome
  /** The variant's credentials or project are wrong: stop the batch, prune nothing. */
  | { kind: 'variant_problem'; reason: string }
  /** 401 for our access token: drop the shared token, send again once with a fresh one. */
  | { kind: 'token_rejected' }

/** The parts of Google's error body the verdict reads. */
export type FcmErrorBody = {
  message?: string
  status?: string
  /** The FcmError detail's `errorCode`, when Google sent one. */
  errorCode?: string
  fieldViolations: { field?: string; description?: string }[]
}

const GoogleError = z.object({
  error: z.object({
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(z.unknown()).optional(),
  }),
})

const FcmErrorDetail = z.object({ '@type': z.literal(FCM_ERROR_TYPE), errorCode: z.string() })

const BadRequestDetail = z.object({
  '@type': z.literal(BAD_REQUEST_TYPE),
  fieldViolations: z.array(
    z.object({ field: z.string().optional(), description: z.string().optional() }),
  ),
})

/** Parses an error body; what is not Google's JSON shape (an HTML page) gives undefined. */
export function parseFcmError(text: string): FcmErrorBody | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const parsed = GoogleError.safeParse(json)
  if (!parsed.success) return undefined

  const { message, status, details = [] } = parsed.data.error
  const body: FcmErrorBody = { message, status, fieldViolations: [] }
  for (const detail of details) {
    const fcm = FcmErrorDetail.safeParse(detail)
    if (fcm.success) body.errorCode ??= fcm.data.errorCode
    const bad = BadRequestDetail.safeParse(detail)
    if (bad.success) body.fieldViolations.push(...bad.data.fieldViolations)
  }
  return body
}

/** Decides what one `messages:send` answer means. */
export function classifyFcm(
  status: number,
  error: FcmErrorBody | undefined,
  headers: Pick<Headers, 'get'>,
  now: number,
): FcmVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  const retryAfter = () => parseRetryAfter(headers.get('retry-after'), now)

  switch (error?.errorCode) {
    case 'UNREGISTERED':
      return { kind: 'invalid_token', reason: error.errorCode }
    // The token belongs to another Firebase project than the service account's: or the service
    // account is the wrong project's, and then every token says so.
    case 'SENDER_ID_MISMATCH':
      return { kind: 'invalid_token', reason: error.errorCode, unproven: true }
    case 'INVALID_ARGUMENT':
      return invalidArgument(error)
    case 'QUOTA_EXCEEDED':
    case 'UNAVAILABLE':
    case 'INTERNAL':
      return retry(error.errorCode, retryAfter())
    // The APNs or Web Push credentials stored in the Firebase project are wrong.
    case 'THIRD_PARTY_AUTH_ERROR':
    case 'APNS_AUTH_ERROR':
      return { kind: 'variant_problem', reason: error.errorCode }
  }

  // No FcmError detail (or UNSPECIFIED_ERROR): the HTTP status and Google's status decide.
  if (status === 400) return invalidArgument(error)
  if (status === 401) return { kind: 'token_rejected' }
  // The service account may not send for this project, or the FCM API is not enabled in it.
  if (status === 403)
    return { kind: 'variant_problem', reason: error?.status ?? 'PERMISSION_DENIED' }
  // A 404 without UNREGISTERED: the project id in the URL names no Firebase project (case 7).
  if (status === 404) return { kind: 'variant_problem', reason: 'project_not_found' }
  if (status === 429 || status >= 500) return retry(error?.status ?? `http_${status}`, retryAfter())
  return { kind: 'failed', reason: `http_${status}` }
}

// INVALID_ARGUMENT is FCM's answer both to a malformed registration token and to a malformed
// message. Only the first prunes; the second fails this message and keeps the device. Google
// singles the token out by its message text, or by a field violation on `message.token`.
function invalidArgument(error: FcmErrorBody | undefined): Outcome {
  if (error && isInvalidRegistrationToken(error)) {
    return { kind: 'invalid_token', reason: 'INVALID_ARGUMENT' }
  }
  return { kind: 'failed', reason: 'invalid_argument' }
}

function isInvalidRegistrationToken(error: FcmErrorBody): boolean {
  if (/not a valid FCM registration token/i.test(error.message ?? '')) return true
  return error.fieldViolations.some(
    (v) => v.field === 'message.token' || /invalid registration token/i.test(v.description ?? ''),
  )
}

function retry(reason: string, retryAfterMs: number | undefined): Outcome {
  return retryAfterMs === undefined
    ? { kind: 'retry', reason }
    : { kind: 'retry', reason, retryAfterMs }
}
