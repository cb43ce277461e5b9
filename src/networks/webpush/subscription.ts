/**
 * A stored Web Push token read back as the subscription the encryption needs. Registration
 * (src/push/device-token.ts) wrote it as `{"endpoint","keys":{"p256dh","auth"}}` after checking
 * it; this re-validates at the other edge, because a row can outlive the rules that admitted it
 * (an `http:` endpoint stored while ALLOW_INSECURE_ENDPOINTS was on, a row from before the
 * endpoint rules, a hand-edited import). The endpoint rules are src/push/push-endpoint.ts.
 *
 * A refused endpoint fails with `endpoint_refused` and is never pruned: the configuration may
 * change back, and no push service has said the subscription is gone.
 */
import type { PushSubscription } from '@block65/webcrypto-web-push'
import { z } from 'zod'
import { checkPushEndpoint } from '../../push/push-endpoint'
import { WEB_PUSH_REASONS, type WebPushReason } from './classify'

const StoredSubscription = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string().min(1), auth: z.string().min(1) }),
})

export type ReadSubscription =
  | { ok: true; subscription: PushSubscription }
  | { ok: false; reason: WebPushReason }

/** Parses a stored token; never throws, whatever the row holds. */
export function readSubscription(token: string, allowInsecure: boolean): ReadSubscription {
  const parsed = StoredSubscription.safeParse(parseJson(token))
  const url = parsed.success ? URL.parse(parsed.data.endpoint) : null
  if (!parsed.success || !url) return { ok: false, reason: WEB_PUSH_REASONS.badSubscription }

  if (checkPushEndpoint(url, { allowInsecure }) !== null) {
    return { ok: false, reason: WEB_PUSH_REASONS.endpointRefused }
  }

  // The serialised URL is what was checked, so it is what we send to.
  const { keys } = parsed.data
  return { ok: true, subscription: { endpoint: url.href, expirationTime: null, keys } }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
