import { describe, expect, it } from 'vitest'
import { classifyFcm, type FcmVerdict, parseFcmError } from '../../src/networks/fcm/classify'
import { parseRetryAfter } from '../../src/networks/retry-after'

const NOW = Date.parse('2026-03-01T12:00:00Z')
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError'
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest'

// Google's error body, as the wire carries it.
function googleBody(code: number, status: string, message: string, details?: unknown[]): string {
  return JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } })
}
const fcmDetail = (errorCode: string) => [{ '@type': FCM_ERROR, errorCode }]

function verdict(status: number, body: string, headers: Record<string, string> = {}): FcmVerdict {
  return classifyFcm(status, parseFcmError(body), new Headers(headers), NOW)
}

describe('classifyFcm', () => {
  it.each<[string, number, string, Record<string, string>, FcmVerdict]>([
    ['200', 200, '{"name":"projects/p/messages/1"}', {}, { kind: 'delivered' }],
    [
      'UNREGISTERED (case 7, first half)',
      404,
      googleBody(404, 'NOT_FOUND', 'Requested entity was not found.', fcmDetail('UNREGISTERED')),
      {},
      { kind: 'invalid_token', reason: 'UNREGISTERED' },
    ],
    [
      '404 without FcmError: wrong project id (case 7, second half)',
      404,
      googleBody(404, 'NOT_FOUND', 'Requested entity was not found.'),
      {},
      { kind: 'variant_problem', reason: 'project_not_found' },
    ],
    [
      '404 with an HTML page',
      404,
      '<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>',
      {},
      { kind: 'variant_problem', reason: 'project_not_found' },
    ],
    [
      'SENDER_ID_MISMATCH',
      403,
      googleBody(403, 'PERMISSION_DENIED', 'SenderId mismatch', fcmDetail('SENDER_ID_MISMATCH')),
      {},
      { kind: 'invalid_token', reason: 'SENDER_ID_MISMATCH', unproven: true },
    ],
    [
      'INVALID_ARGUMENT for the registration token',
      400,
      googleBody(
        400,
        'INVALID_ARGUMENT',
        'The registration token is not a valid FCM registration token',
        fcmDetail('INVALID_ARGUMENT'),
      ),
      {},
      { kind: 'invalid_token', reason: 'INVALID_ARGUMENT' },
    ],
    [
      'INVALID_ARGUMENT with a field violation on message.token',
      400,
      googleBody(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [
        ...fcmDetail('INVALID_ARGUMENT'),
        {
          '@type': BAD_REQUEST,
          fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }],
        },
      ]),
      {},
      { kind: 'invalid_token', reason: 'INVALID_ARGUMENT' },
    ],
    [
      'INVALID_ARGUMENT for the message keeps the token',
      400,
      googleBody(
        400,
        'INVALID_ARGUMENT',
        "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
        [
          {
            '@type': BAD_REQUEST,
            fieldViolations: [
              {
                field: 'message.data[0].value',
                description: "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
              },
            ],
          },
        ],
      ),
      {},
      { kind: 'failed', reason: 'invalid_argument' },
    ],
    [
      'INVALID_ARGUMENT FcmError for a too-big message',
      400,
      googleBody(
        400,
        'INVALID_ARGUMENT',
        'Android message is too big',
        fcmDetail('INVALID_ARGUMENT'),
      ),
      {},
      { kind: 'failed', reason: 'invalid_argument' },
    ],
    [
      'QUOTA_EXCEEDED with Retry-After',
      429,
      googleBody(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', fcmDetail('QUOTA_EXCEEDED')),
      { 'Retry-After': '17' },
      { kind: 'retry', reason: 'QUOTA_EXCEEDED', retryAfterMs: 17_000 },
    ],
    [
      'UNAVAILABLE without Retry-After',
      503,
      googleBody(
        503,
        'UNAVAILABLE',
        'The service is currently unavailable.',
        fcmDetail('UNAVAILABLE'),
      ),
      {},
      { kind: 'retry', reason: 'UNAVAILABLE' },
    ],
    [
      'INTERNAL with an HTTP-date Retry-After',
      500,
      googleBody(500, 'INTERNAL', 'Internal error encountered.', fcmDetail('INTERNAL')),
      { 'Retry-After': 'Sun, 01 Mar 2026 12:01:00 GMT' },
      { kind: 'retry', reason: 'INTERNAL', retryAfterMs: 60_000 },
    ],
    [
      '429 without details',
      429,
      googleBody(429, 'RESOURCE_EXHAUSTED', 'Too many requests.'),
      {},
      { kind: 'retry', reason: 'RESOURCE_EXHAUSTED' },
    ],
    [
      '502 from a proxy, not JSON',
      502,
      '<html>Bad Gateway</html>',
      {},
      { kind: 'retry', reason: 'http_502' },
    ],
    [
      'THIRD_PARTY_AUTH_ERROR is a 401 that no new access token fixes',
      401,
      googleBody(
        401,
        'UNAUTHENTICATED',
        'Auth error from APNS or Web Push Service',
        fcmDetail('THIRD_PARTY_AUTH_ERROR'),
      ),
      {},
      { kind: 'variant_problem', reason: 'THIRD_PARTY_AUTH_ERROR' },
    ],
    [
      '401 for the access token',
      401,
      googleBody(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
      {},
      { kind: 'token_rejected' },
    ],
    [
      '403 PERMISSION_DENIED',
      403,
      googleBody(403, 'PERMISSION_DENIED', "Permission 'cloudmessaging.messages.create' denied"),
      {},
      { kind: 'variant_problem', reason: 'PERMISSION_DENIED' },
    ],
    ['an unexpected 4xx', 418, '', {}, { kind: 'failed', reason: 'http_418' }],
  ])('%s', (_name, status, body, headers, expected) => {
    expect(verdict(status, body, headers)).toStrictEqual(expected)
  })
})

describe('parseFcmError', () => {
  it('reads the FcmError code and the field violations among other details', () => {
    const body = googleBody(400, 'INVALID_ARGUMENT', 'm', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'X' },
      ...fcmDetail('INVALID_ARGUMENT'),
      { '@type': BAD_REQUEST, fieldViolations: [{ field: 'message.token' }] },
    ])
    expect(parseFcmError(body)).toStrictEqual({
      message: 'm',
      status: 'INVALID_ARGUMENT',
      errorCode: 'INVALID_ARGUMENT',
      fieldViolations: [{ field: 'message.token' }],
    })
  })

  it('gives undefined for what is not Google JSON', () => {
    expect(parseFcmError('<html></html>')).toBeUndefined()
    expect(parseFcmError('{"message":"no error key"}')).toBeUndefined()
    expect(parseFcmError('')).toBeUndefined()
  })
})

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, never a negative delay', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0)
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000)
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', NOW)).toBe(0)
    expect(parseRetryAfter('soon', NOW)).toBeUndefined()
    expect(parseRetryAfter(null, NOW)).toBeUndefined()
  })
})
