/**
 * The unified message as a Web Push notification (API.md "Sending", Web Push): the JSON the
 * service worker of a UPS web client reads, and the RFC 8030 headers that travel beside it.
 * Pure: the sender uses it to count bytes before queueing, the adapter to build every request.
 */
import { type DeliveryOptions, PUSH_ID_KEY, type UnifiedMessage } from '../../push/message'

/**
 * The largest plaintext that fits one aes128gcm record in the 4096 octets every push service must
 * accept (RFC 8291 section 4): 4096 minus the 86-byte header (salt, record size, key id length,
 * 65-byte key id) minus the padding delimiter and the 16-byte GCM tag.
 */
export const WEB_PUSH_MAX_PLAINTEXT = 3993

/** RFC 8030 section 5.2 leaves the default to us; four weeks is what UPS and most servers use. */
export const WEB_PUSH_DEFAULT_TTL = 2_419_200

/** RFC 8030 section 5.3 values; the unified message only knows `normal` and `high`. */
export type Urgency = 'normal' | 'high'

/** Header names as RFC 8030 spells them. */
export type WebPushHeaders = {
  TTL: string
  Urgency: Urgency
  /**
   * RFC 8030 section 5.4 replaces an undelivered message with the same topic. No field of the
   * unified message maps to it yet, so translation never sets it; the adapter sends it when set.
   */
  Topic?: string
}

export type WebPushNotification = { body: string; headers: WebPushHeaders }

/** The JSON the UPS web SDK reads, keys in the order UPS wrote them. */
type Payload = {
  alert?: string
  title?: string
  sound?: string
  badge?: number
  'user-data'?: Record<string, unknown>
  [PUSH_ID_KEY]: string
}

/** Translates once per batch: every device of the batch gets the same plaintext. */
export function translateWebPush(
  message: UnifiedMessage,
  options: DeliveryOptions,
): WebPushNotification {
  const payload: Payload = {
    alert: message.alert,
    title: message.apns?.title,
    sound: message.sound,
    badge: message.badge,
    'user-data': message['user-data'],
    [PUSH_ID_KEY]: options.pushMessageId,
  }

  // `??` and not `||`: a TTL of 0 means "now or never" and must reach the push service as 0.
  const ttl = options.ttl ?? WEB_PUSH_DEFAULT_TTL
  const urgency: Urgency = message.priority === 'high' ? 'high' : 'normal'
  return { body: JSON.stringify(payload), headers: { TTL: String(ttl), Urgency: urgency } }
}

/**
 * Bytes of UTF-8 plaintext the message becomes, to compare with WEB_PUSH_MAX_PLAINTEXT. Counts
 * bytes, not characters: an emoji is two UTF-16 units and four bytes. The push message id is part
 * of the plaintext, so pass the id the job will carry (or one of the same length).
 */
export function webPushPayloadBytes(message: UnifiedMessage, options: DeliveryOptions): number {
  return new TextEncoder().encode(translateWebPush(message, options).body).byteLength
}
