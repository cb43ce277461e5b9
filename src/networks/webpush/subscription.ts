/**
 * A stored Web Push token read back as the subscription the encryption needs. Registration
 * (src/push/device-token.ts) wrote it as `{"endpoint","keys":{"p256dh","auth"}}` after checking
 * it; this re-validates at the other edge, because a row can outlive the rules that admitted it
 * (an `http:` endpoint stored while ALLOW_INSECURE_ENDPOINTS was on, a hand-edited import).
 */
import type { PushSubscription } from '@block65/webcrypto-web-push'
import { z } from 'zod'
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

  const secure = url.protocol === 'https:' || (allowInsecure && url.protocol === 'http:')
  if (!secure) return { ok: false, reason: WEB_PUSH_REASONS.insecureEndpoint }

  const { endpoint, keys } = parsed.data
  return { ok: true, subscription: { endpoint, expirationTime: null, keys } }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
