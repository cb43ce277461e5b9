import { describe, expect, it } from 'vitest'
import {
  APNS_REASONS,
  type ApnsVerdict,
  classifyApns,
  parseApnsError,
} from '../../src/networks/apns/classify'

const NOW = Date.UTC(2026, 0, 2)
const answer = (status: number, body: unknown = '', headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
})
const classify = (status: number, body?: unknown, headers?: Record<string, string>) =>
  classifyApns(answer(status, body, headers), NOW)

describe('classifyApns: Apple reason strings', () => {
  const table: [number, string, ApnsVerdict][] = [
    [400, 'BadDeviceToken', { kind: 'invalid_token', reason: 'BadDeviceToken', unproven: true }],
    [
      400,
      'DeviceTokenNotForTopic',
      { kind: 'invalid_token', reason: 'DeviceTokenNotForTopic', unproven: true },
    ],
    [400, 'BadCollapseId', { kind: 'failed', reason: 'BadCollapseId' }],
    [400, 'BadExpirationDate', { kind: 'failed', reason: 'BadExpirationDate' }],
    [400, 'BadMessageId', { kind: 'failed', reason: 'BadMessageId' }],
    [400, 'BadPriority', { kind: 'failed', reason: 'BadPriority' }],
    [400, 'DuplicateHeaders', { kind: 'failed', reason: 'DuplicateHeaders' }],
    [400, 'InvalidPushType', { kind: 'failed', reason: 'InvalidPushType' }],
    [400, 'MissingDeviceToken', { kind: 'failed', reason: 'MissingDeviceToken' }],
    [400, 'PayloadEmpty', { kind: 'failed', reason: 'PayloadEmpty' }],
    [400, 'IdleTimeout', { kind: 'retry', reason: 'IdleTimeout' }],
    [400, 'BadTopic', { kind: 'variant_problem', reason: 'BadTopic' }],
    [400, 'MissingTopic', { kind: 'variant_problem', reason: 'MissingTopic' }],
    [400, 'TopicDisallowed', { kind: 'variant_problem', reason: 'TopicDisallowed' }],
    [400, 'ExpiredToken', { kind: 'invalid_token', reason: 'ExpiredToken' }],
    [403, 'ExpiredProviderToken', { kind: 'provider_token_expired' }],
    [403, 'InvalidProviderToken', { kind: 'variant_problem', reason: 'InvalidProviderToken' }],
    [403, 'MissingProviderToken', { kind: 'variant_problem', reason: 'MissingProviderToken' }],
    [403, 'BadCertificate', { kind: 'variant_problem', reason: 'BadCertificate' }],
    [
      403,
      'BadCertificateEnvironment',
      { kind: 'variant_problem', reason: 'BadCertificateEnvironment' },
    ],
    [403, 'Forbidden', { kind: 'variant_problem', reason: 'Forbidden' }],
    [403, 'UnrelatedKeyIdInToken', { kind: 'variant_problem', reason: 'UnrelatedKeyIdInToken' }],
    [
      403,
      'BadEnvironmentKeyInToken',
      { kind: 'variant_problem', reason: 'BadEnvironmentKeyInToken' },
    ],
    [404, 'BadPath', { kind: 'failed', reason: 'BadPath' }],
    [405, 'MethodNotAllowed', { kind: 'failed', reason: 'MethodNotAllowed' }],
    [410, 'Unregistered', { kind: 'invalid_token', reason: 'Unregistered' }],
    [410, 'ExpiredToken', { kind: 'invalid_token', reason: 'ExpiredToken' }],
    [413, 'PayloadTooLarge', { kind: 'failed', reason: 'PayloadTooLarge' }],
    [429, 'TooManyRequests', { kind: 'retry', reason: 'TooManyRequests' }],
    [
      429,
      'TooManyProviderTokenUpdates',
      { kind: 'retry_batch', reason: 'TooManyProviderTokenUpdates' },
    ],
    [500, 'InternalServerError', { kind: 'retry', reason: 'InternalServerError' }],
    [503, 'ServiceUnavailable', { kind: 'retry', reason: 'ServiceUnavailable' }],
    [503, 'Shutdown', { kind: 'retry', reason: 'Shutdown' }],
  ]

  it.each(table)('%i %s', (status, reason, verdict) => {
    expect(classify(status, { reason })).toStrictEqual(verdict)
  })

  it('covers every reason of the table, and nothing more', () => {
    expect(new Set(table.map(([, reason]) => reason))).toStrictEqual(
      new Set(Object.keys(APNS_REASONS)),
    )
  })
})

describe('classifyApns: beyond the reason', () => {
  it('delivers on 200 with an empty body', () => {
    expect(classify(200)).toStrictEqual({ kind: 'delivered' })
  })

  it('keeps the 410 timestamp as `since`, so only older registrations are pruned (case 8)', () => {
    const timestamp = 1_767_225_600_123
    expect(classify(410, { reason: 'Unregistered', timestamp })).toStrictEqual({
      kind: 'invalid_token',
      reason: 'Unregistered',
      since: timestamp,
    })
    expect(classify(410, { reason: 'ExpiredToken', timestamp })).toStrictEqual({
      kind: 'invalid_token',
      reason: 'ExpiredToken',
      since: timestamp,
    })
  })

  it('ignores a timestamp that is not epoch milliseconds, and prunes anyway', () => {
    expect(classify(410, { reason: 'Unregistered', timestamp: 'soon' })).toStrictEqual({
      kind: 'invalid_token',
      reason: 'Unregistered',
    })
  })

  it('honours a Retry-After when there is one, in seconds or as a date', () => {
    expect(classify(429, { reason: 'TooManyRequests' }, { 'retry-after': '30' })).toStrictEqual({
      kind: 'retry',
      reason: 'TooManyRequests',
      retryAfterMs: 30_000,
    })
    const date = new Date(NOW + 90_000).toUTCString()
    expect(classify(503, { reason: 'Shutdown' }, { 'retry-after': date })).toStrictEqual({
      kind: 'retry',
      reason: 'Shutdown',
      retryAfterMs: 90_000,
    })
    expect(
      classify(429, { reason: 'TooManyProviderTokenUpdates' }, { 'retry-after': '1200' }),
    ).toStrictEqual({
      kind: 'retry_batch',
      reason: 'TooManyProviderTokenUpdates',
      retryAfterMs: 1_200_000,
    })
  })

  it.each([
    [400, { kind: 'failed', reason: 'http_400' }],
    [403, { kind: 'variant_problem', reason: 'http_403' }],
    [404, { kind: 'failed', reason: 'http_404' }],
    [410, { kind: 'invalid_token', reason: 'http_410' }],
    [413, { kind: 'failed', reason: 'http_413' }],
    [429, { kind: 'retry', reason: 'http_429' }],
    [500, { kind: 'retry', reason: 'http_500' }],
    [502, { kind: 'retry', reason: 'http_502' }],
    [418, { kind: 'failed', reason: 'http_418' }],
  ] as const)('decides by the status when the body is not Apple JSON: %i', (status, verdict) => {
    expect(classify(status, '<html>Bad Gateway</html>')).toStrictEqual(verdict)
    expect(classify(status, '')).toStrictEqual(verdict)
  })

  it('keeps a reason Apple added later, and decides it by the status', () => {
    expect(classify(403, { reason: 'SomethingNew' })).toStrictEqual({
      kind: 'variant_problem',
      reason: 'SomethingNew',
    })
    expect(classify(503, { reason: 'SomethingNew' })).toStrictEqual({
      kind: 'retry',
      reason: 'SomethingNew',
    })
  })

  it('never keeps a reason that is not a short word (metrics are not a log)', () => {
    expect(parseApnsError(JSON.stringify({ reason: 'a b <script>' }))).toBeUndefined()
    expect(parseApnsError(JSON.stringify({ reason: 'x'.repeat(65) }))).toBeUndefined()
    expect(classify(400, { reason: 'not a word' })).toStrictEqual({
      kind: 'failed',
      reason: 'http_400',
    })
  })

  it('does not take a prototype key for a reason', () => {
    expect(classify(400, { reason: 'constructor' })).toStrictEqual({
      kind: 'failed',
      reason: 'constructor',
    })
  })
})
