/**
 * The FCM HTTP v1 adapter: one `messages:send` per registration token (Google retired batch
 * send), at most six in flight (the Workers limit on simultaneous open connections), each answer
 * classified by `classifyFcm`. The I/O is here; every decision is in translate.ts, classify.ts
 * and oauth.ts.
 *
 * A 401 for our access token renews the shared token once per batch, passing it as rejected
 * (another batch or isolate may have renewed it already), and sends again once with the new
 * one; a second 401 is the variant's problem. On a variant problem no further request is started: the
 * devices not yet tried fail with the same reason and none is pruned. Requests already in flight
 * keep their own answers.
 */
import type {
  AdapterContext,
  BatchResult,
  NetworkAdapter,
  Outcome,
  Target,
  VariantProblem,
} from '../adapter'
import { BatchToken } from '../batch-token'
import { classifyFcm, type FcmVerdict, parseFcmError } from './classify'
import { fcmAccessToken, type TokenResult } from './oauth'
import type { ServiceAccount } from './service-account'
import { translateFcm } from './translate'

/** Requests in flight per batch: Workers allow six simultaneous open connections. */
export const FCM_CONCURRENCY = 6
const SEND_TIMEOUT_MS = 10_000

/** What becomes of one device once a 401 has been dealt with. */
type DeviceVerdict = Exclude<FcmVerdict, { kind: 'token_rejected' }>

export type FcmAdapterOptions = {
  serviceAccount: ServiceAccount
  /** `FCM_ENDPOINT`: https://fcm.googleapis.com, or a local fake. */
  endpoint: string
  /** `ALLOW_INSECURE_ENDPOINTS`: lets an `http:` token_uri through. */
  allowInsecure: boolean
  /** Per request, token requests included; 10 s unless a test shortens it. */
  timeoutMs?: number
}

export function createFcmAdapter(opts: FcmAdapterOptions): NetworkAdapter {
  const project = encodeURIComponent(opts.serviceAccount.project_id)
  const url = `${opts.endpoint.replace(/\/+$/, '')}/v1/projects/${project}/messages:send`
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS

  return {
    async send(targets, message, options, ctx) {
      if (targets.length === 0) return { outcomes: [] }
      const token = (rejected?: string) =>
        fcmAccessToken(opts.serviceAccount, ctx, {
          allowInsecure: opts.allowInsecure,
          rejected,
          timeoutMs,
        })
      const first = await token()
      if (!first.ok) return failBatch(targets.length, first)

      const tokens = new BatchToken(first.token, token)
      const post = (target: Target, bearer: string) =>
        postOne(url, translateFcm(message, options, target.token), bearer, ctx, timeoutMs)
      return sendAll(targets, (target) => deliver(target, tokens, post))
    },
  }
}

// One device: send, and after a 401 send once more with the batch's renewed token.
async function deliver(
  target: Target,
  tokens: BatchToken<TokenResult>,
  post: (target: Target, bearer: string) => Promise<FcmVerdict>,
): Promise<DeviceVerdict> {
  const used = await tokens.current()
  const verdict = await post(target, used)
  if (verdict.kind !== 'token_rejected') return verdict

  const fresh = await tokens.renew(used)
  if (!fresh.ok) return tokenFailure(fresh)
  if (fresh.token === used) return { kind: 'variant_problem', reason: 'UNAUTHENTICATED' }
  const again = await post(target, fresh.token)
  return again.kind === 'token_rejected'
    ? { kind: 'variant_problem', reason: 'UNAUTHENTICATED' }
    : again
}

async function sendAll(
  targets: Target[],
  deliverOne: (target: Target) => Promise<DeviceVerdict>,
): Promise<BatchResult> {
  const outcomes: Outcome[] = new Array(targets.length)
  let problem: VariantProblem | undefined

  let next = 0
  const worker = async () => {
    while (next < targets.length) {
      const index = next++
      const target = targets[index] as Target
      if (problem) {
        outcomes[index] = { kind: 'failed', reason: problem.reason }
        continue
      }
      const verdict = await deliverOne(target)
      if (verdict.kind === 'variant_problem') {
        problem ??= { reason: verdict.reason }
        outcomes[index] = { kind: 'failed', reason: verdict.reason }
      } else {
        outcomes[index] = verdict
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(FCM_CONCURRENCY, targets.length) }, worker))
  // SENDER_ID_MISMATCH comes back `unproven`: the deliver step keeps the devices when nothing in
  // the batch was delivered (dispatch/tally.ts).
  return problem ? { outcomes, variantProblem: problem } : { outcomes }
}

async function postOne(
  url: string,
  body: unknown,
  bearer: string,
  ctx: AdapterContext,
  timeoutMs: number,
): Promise<FcmVerdict> {
  // Called unbound: workerd's fetch throws "Illegal invocation" when called as `ctx.fetch(...)`.
  const fetcher = ctx.fetch
  let response: Response
  let text: string
  try {
    response = await fetcher(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    text = await response.text()
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError'
    return { kind: 'retry', reason: timedOut ? 'timeout' : 'network_error' }
  }
  const error = response.ok ? undefined : parseFcmError(text)
  return classifyFcm(response.status, error, response.headers, ctx.now())
}

// Without an access token nothing is sent: every device retries, or fails with the variant.
function failBatch(count: number, failure: Exclude<TokenResult, { ok: true }>): BatchResult {
  const outcome: Outcome =
    failure.kind === 'retry'
      ? { kind: 'retry', reason: failure.reason }
      : { kind: 'failed', reason: failure.reason }
  const outcomes = Array.from({ length: count }, () => ({ ...outcome }))
  return failure.kind === 'retry'
    ? { outcomes }
    : { outcomes, variantProblem: { reason: failure.reason } }
}

function tokenFailure(failure: Exclude<TokenResult, { ok: true }>): DeviceVerdict {
  return failure.kind === 'retry'
    ? { kind: 'retry', reason: failure.reason }
    : { kind: 'variant_problem', reason: failure.reason }
}
