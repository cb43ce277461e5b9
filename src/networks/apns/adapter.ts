/**
 * The APNs adapter: one batch of devices of one `ios_token` variant, one message. The payload and
 * headers are translated once; each device gets one `POST /3/device/<token>` with its own
 * `apns-id` and the team's shared provider token, through a transport (fetch or h2) that says how
 * many requests may be in flight. Every decision is in translate.ts, classify.ts and
 * provider-token.ts; this is the I/O around them.
 *
 * 403 ExpiredProviderToken renews the shared token once per batch, however many requests saw
 * it, and sends those devices again. A variant problem (a wrong key, team or topic) stops new
 * requests: the devices not yet tried fail with the same reason, none is pruned. 429
 * TooManyProviderTokenUpdates stops them too, but they retry later. Requests already in flight
 * keep their own answers. A batch whose every device is BadDeviceToken (or every one
 * DeviceTokenNotForTopic) reports the variant instead of pruning its whole audience.
 */
import type { BatchResult, NetworkAdapter, Outcome, Target, VariantProblem } from '../adapter'
import { BatchToken } from '../batch-token'
import { type ApnsVerdict, classifyApns } from './classify'
import {
  apnsProviderToken,
  type ProviderTokenCredentials,
  type ProviderTokenResult,
} from './provider-token'
import { APNS_MAX_PAYLOAD, apnsHeaders, apnsPayload } from './translate'
import type { ApnsRequest, ApnsTransport, ApnsTransportFactory } from './transport'

/** Apple answers in milliseconds; ten seconds bounds a dead connection, not a slow one. */
const SEND_TIMEOUT_MS = 10_000

// Registration stores tokens as lowercase hex; anything else must not reach the request path.
const HEX_TOKEN = /^[0-9a-fA-F]+$/

export type ApnsVariant = ProviderTokenCredentials & {
  /** The app's bundle id: the `apns-topic` of every notification. */
  bundleId: string
  /** Production APNs, or the sandbox that development builds register with. */
  production: boolean
}

export type ApnsAdapterOptions = {
  /** `APNS_ENDPOINT_PRODUCTION` and `APNS_ENDPOINT_SANDBOX`. */
  endpoints: { production: string; sandbox: string }
  /** fetch or h2 (`APNS_TRANSPORT`), called once per batch. */
  transport: ApnsTransportFactory
  /** Per request; 10 s unless a test shortens it. */
  timeoutMs?: number
}

/** What becomes of one device once an expired provider token has been dealt with. */
type DeviceVerdict = Exclude<ApnsVerdict, { kind: 'provider_token_expired' }>

export function createApnsAdapter(
  variant: ApnsVariant,
  options: ApnsAdapterOptions,
): NetworkAdapter {
  const endpoint = variant.production ? options.endpoints.production : options.endpoints.sandbox
  const timeoutMs = options.timeoutMs ?? SEND_TIMEOUT_MS

  return {
    async send(targets, message, delivery, ctx) {
      if (targets.length === 0) return { outcomes: [] }
      const body = JSON.stringify(apnsPayload(message, delivery))
      // The sender refuses such messages before queueing; this keeps one queued before that
      // check from costing a request per device that Apple would refuse.
      if (new TextEncoder().encode(body).byteLength > APNS_MAX_PAYLOAD) {
        return { outcomes: targets.map(() => ({ kind: 'failed', reason: 'PayloadTooLarge' })) }
      }
      const headers = apnsHeaders(message, delivery, variant.bundleId, ctx.now())

      const first = await apnsProviderToken(variant, ctx)
      if (!first.ok) return failBatch(targets.length, first.reason)
      const tokens = new BatchToken(first.token, (rejected) =>
        apnsProviderToken(variant, ctx, { rejected }),
      )

      const transport = options.transport(endpoint)
      const post = (target: Target, apnsId: string, bearer: string) => {
        const auth = { 'apns-id': apnsId, authorization: `bearer ${bearer}` }
        const request: ApnsRequest = {
          path: `/3/device/${target.token}`,
          headers: { ...headers, ...auth },
          body,
        }
        return postOne(transport, request, timeoutMs, ctx.now)
      }
      try {
        return await sendAll(targets, transport, (target) => deliver(target, tokens, post))
      } finally {
        await transport.close()
      }
    },
  }
}

async function postOne(
  transport: ApnsTransport,
  request: ApnsRequest,
  timeoutMs: number,
  now: () => number,
): Promise<ApnsVerdict> {
  const answer = await transport.send(request, { timeoutMs })
  if (answer.kind === 'response') return classifyApns(answer, now())
  return { kind: answer.retryable ? 'retry' : 'failed', reason: answer.reason }
}

// One device: send, and after 403 ExpiredProviderToken send once more with the batch's renewed
// token. A token renewed for this batch that Apple also calls expired means our clock or key is
// wrong: that is the variant's problem, not a reason to mint again.
async function deliver(
  target: Target,
  tokens: BatchToken<ProviderTokenResult>,
  post: (target: Target, apnsId: string, bearer: string) => Promise<ApnsVerdict>,
): Promise<DeviceVerdict> {
  if (!HEX_TOKEN.test(target.token)) return { kind: 'invalid_token', reason: 'malformed_token' }
  // Apple wants a canonical lowercase UUID; the same id is kept when the device is sent again.
  const apnsId = crypto.randomUUID()
  const used = await tokens.current()
  const verdict = await post(target, apnsId, used)
  if (verdict.kind !== 'provider_token_expired') return verdict

  const fresh = await tokens.renew(used)
  if (!fresh.ok) return { kind: 'variant_problem', reason: fresh.reason }
  if (fresh.token === used) return { kind: 'variant_problem', reason: 'ExpiredProviderToken' }
  const again = await post(target, apnsId, fresh.token)
  return again.kind === 'provider_token_expired'
    ? { kind: 'variant_problem', reason: 'ExpiredProviderToken' }
    : again
}

async function sendAll(
  targets: Target[],
  transport: ApnsTransport,
  deliverOne: (target: Target) => Promise<DeviceVerdict>,
): Promise<BatchResult> {
  const outcomes: Outcome[] = new Array(targets.length)
  let problem: VariantProblem | undefined
  // Set by the first answer that stops the batch: what every device not yet sent gets.
  let stopped: Outcome | undefined

  await forEachInFlight(
    targets,
    () => transport.maxInFlight,
    async (target, index) => {
      if (stopped) {
        outcomes[index] = { ...stopped }
        return
      }
      const verdict = await deliverOne(target)
      switch (verdict.kind) {
        case 'variant_problem': {
          problem ??= { reason: verdict.reason }
          outcomes[index] = { kind: 'failed', reason: verdict.reason }
          stopped ??= outcomes[index]
          return
        }
        case 'retry_batch': {
          const { reason, retryAfterMs } = verdict
          outcomes[index] =
            retryAfterMs === undefined
              ? { kind: 'retry', reason }
              : { kind: 'retry', reason, retryAfterMs }
          stopped ??= outcomes[index]
          return
        }
        default:
          outcomes[index] = verdict
      }
    },
  )
  // BadDeviceToken and DeviceTokenNotForTopic come back `unproven`: the deliver step keeps the
  // devices when nothing in the batch was delivered (dispatch/tally.ts).
  return problem ? { outcomes, variantProblem: problem } : { outcomes }
}

function failBatch(count: number, reason: string): BatchResult {
  const outcomes = Array.from({ length: count }, (): Outcome => ({ kind: 'failed', reason }))
  return { outcomes, variantProblem: { reason } }
}

/**
 * Runs `task` over `items`, starting one only while fewer than `limit()` run. The limit is read
 * again before each start: an h2 connection starts at one stream and grows once Apple has seen
 * a valid token.
 */
function forEachInFlight<T>(
  items: readonly T[],
  limit: () => number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  // A count, not Promise.race over the running set: with h2's ~1,000 streams in flight, racing
  // them all for every start made each batch quadratic (bench/h2 profile).
  return new Promise((resolve, reject) => {
    let next = 0
    let running = 0
    const startMore = () => {
      if (next === items.length && running === 0) return resolve()
      while (next < items.length && running < Math.max(1, limit())) {
        const index = next++
        running++
        task(items[index] as T, index).then(() => {
          running--
          startMore()
        }, reject)
      }
    }
    startMore()
  })
}
