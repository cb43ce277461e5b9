/**
 * Whether a message fits each network it targets, in bytes of what that network receives
 * (UTF-8, not characters). Checked by the sender before anything is stored or queued.
 */
import { APNS_MAX_PAYLOAD, apnsPayloadBytes } from '../networks/apns/translate'
import { FCM_MAX_PAYLOAD, fcmPayloadBytes } from '../networks/fcm/translate'
import { WEB_PUSH_MAX_PLAINTEXT, webPushPayloadBytes } from '../networks/webpush/translate'
import type { DeliveryOptions, UnifiedMessage } from './message'

type VariantType = 'android' | 'ios_token' | 'web_push'

const LIMITS: Record<
  VariantType,
  { network: string; max: number; bytes: (m: UnifiedMessage, o: DeliveryOptions) => number }
> = {
  android: { network: 'FCM', max: FCM_MAX_PAYLOAD, bytes: fcmPayloadBytes },
  ios_token: { network: 'APNs', max: APNS_MAX_PAYLOAD, bytes: apnsPayloadBytes },
  web_push: { network: 'Web Push', max: WEB_PUSH_MAX_PLAINTEXT, bytes: webPushPayloadBytes },
}

/** One sentence per network the message does not fit, keyed by variant type. */
export function oversize(
  types: Iterable<VariantType>,
  message: UnifiedMessage,
  options: DeliveryOptions,
): Record<string, string> {
  const problems: Record<string, string> = {}
  for (const type of new Set(types)) {
    const limit = LIMITS[type]
    const bytes = limit.bytes(message, options)
    if (bytes > limit.max) {
      problems[`message (${type})`] =
        `is ${bytes} bytes as ${limit.network} receives it; the limit is ${limit.max} bytes`
    }
  }
  return problems
}
