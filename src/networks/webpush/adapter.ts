/**
 * The Web Push adapter: one batch of subscriptions of one `web_push` variant, one message. The
 * plaintext is translated once; each subscription gets its own RFC 8291 encryption, a VAPID
 * header shared per push service origin, and one POST to its endpoint.
 *
 * Nothing is pruned on a VAPID refusal (401/403): the subscription may be fine and bound to
 * another application server key (made before a key renewal, or by another server), so that
 * device fails with `vapid_rejected`, the variant problem is reported, and the rest of the batch
 * is still sent: subscriptions made with the current key keep working. Only a key pair that
 * cannot sign at all stops the batch, since no request could succeed.
 */
import { encryptNotification } from '@block65/webcrypto-web-push'
import type { AdapterContext, NetworkAdapter, Outcome, Target, VariantProblem } from '../adapter'
import { classifyWebPush, WEB_PUSH_REASONS as R, type WebPushAnswer } from './classify'
import { readSubscription } from './subscription'
import { translateWebPush, WEB_PUSH_MAX_PLAINTEXT, type WebPushHeaders } from './translate'
import { type VapidCredentials, vapidAuthorization } from './vapid'

// Workers allow 6 open connections per invocation; more requests would only queue inside fetch.
const MAX_IN_FLIGHT = 6
// Push services answer in well under a second; ten leaves room for a slow one without letting a
// dead one hold the whole batch until the queue consumer's own limit.
const TIMEOUT_MS = 10_000

export type WebPushAdapterOptions = VapidCredentials & {
  /** ALLOW_INSECURE_ENDPOINTS: send to `http:` endpoints (local push services). Default false. */
  allowInsecureEndpoints?: boolean
}

/** The adapter for one variant's VAPID credentials (subject = the variant's `alias`). */
export function createWebPushAdapter(options: WebPushAdapterOptions): NetworkAdapter {
  return {
    async send(targets, message, deliveryOptions, ctx) {
      const { body, headers } = translateWebPush(message, deliveryOptions)
      const plaintext = new TextEncoder().encode(body)
      // The sender refuses such messages before queueing (webPushPayloadBytes); this keeps a
      // message queued before that check from throwing inside the encryption library.
      if (plaintext.byteLength > WEB_PUSH_MAX_PLAINTEXT) {
        return { outcomes: targets.map(() => failed(R.payloadTooLarge)) }
      }

      const outcomes: Outcome[] = []
      // `variantProblem` stops the batch; `reported` only names the problem for the job.
      let variantProblem: VariantProblem | undefined
      let reported: VariantProblem | undefined
      await forEachInFlight(targets, MAX_IN_FLIGHT, async (target, index) => {
        if (variantProblem) {
          outcomes[index] = failed(variantProblem.reason)
          return
        }
        const answer = await push(target, plaintext, headers, options, ctx)
        if (answer.kind !== 'variant_problem') {
          outcomes[index] = answer
          return
        }
        outcomes[index] = failed(answer.reason)
        if (answer.reason === R.vapidKeyUnusable) variantProblem = { reason: answer.reason }
        else reported ??= { reason: answer.reason }
      })

      const problem = variantProblem ?? reported
      return problem ? { outcomes, variantProblem: problem } : { outcomes }
    },
  }
}

async function push(
  target: Target,
  plaintext: Uint8Array,
  headers: WebPushHeaders,
  options: WebPushAdapterOptions,
  ctx: AdapterContext,
): Promise<WebPushAnswer> {
  const read = readSubscription(target.token, options.allowInsecureEndpoints ?? false)
  if (!read.ok) return failed(read.reason)
  const { subscription } = read

  let authorization: string
  try {
    authorization = await vapidAuthorization(options, subscription.endpoint, ctx.now())
  } catch {
    return { kind: 'variant_problem', reason: R.vapidKeyUnusable }
  }

  let body: Uint8Array<ArrayBuffer>
  try {
    // No padding: bodies padded to 4096 are refused by services that take about 3 KB.
    body = await encryptNotification(subscription, plaintext, { pad: false })
  } catch {
    // p256dh is not a P-256 point, or auth is not 16 bytes of base64url.
    return failed(R.badSubscription)
  }

  let response: Response
  try {
    response = await ctx.fetch(subscription.endpoint, {
      method: 'POST',
      headers: requestHeaders(headers, authorization),
      body,
      // A push resource never moves; following a redirect would re-post the message elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError'
    return { kind: 'retry', reason: timedOut ? R.timeout : R.networkError }
  }

  // The answer's body says nothing we act on; release the connection for the next request.
  await response.body?.cancel().catch(() => undefined)
  return classifyWebPush(response.status, response.headers, ctx.now())
}

/** RFC 8291 and RFC 8292 headers: exactly one Authorization scheme, no Crypto-Key. */
function requestHeaders(headers: WebPushHeaders, authorization: string): Headers {
  const result = new Headers({
    Authorization: authorization,
    'Content-Encoding': 'aes128gcm',
    'Content-Type': 'application/octet-stream',
    TTL: headers.TTL,
    Urgency: headers.Urgency,
  })
  if (headers.Topic !== undefined) result.set('Topic', headers.Topic)
  return result
}

function failed(reason: string): Outcome {
  return { kind: 'failed', reason }
}

/** Runs `task` over `items` with at most `limit` running at once; resolves when all are done. */
async function forEachInFlight<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  // One iterator shared by every worker: each takes the next item when it is free.
  const queue = items.entries()
  const worker = async () => {
    for (const [index, item] of queue) await task(item, index)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
