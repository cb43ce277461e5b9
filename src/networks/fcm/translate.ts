/**
 * Unified message → FCM HTTP v1 `messages:send` body, and the byte count FCM holds against its
 * 4096-byte limit. Pure: the same input always gives the same body, and nothing is refused here
 * (the sender refuses what cannot fit before anything is queued; see `fcmPayloadBytes`).
 *
 * Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 */
import { type DeliveryOptions, PUSH_ID_KEY, type UnifiedMessage } from '../../push/message'

/** FCM's limit for a message to a token, "both the keys and the values" counted. */
export const FCM_MAX_PAYLOAD = 4096

export type FcmPriority = 'HIGH' | 'NORMAL'

export type FcmAndroidNotification = { sound?: string; notification_count?: number }

export type FcmMessage = {
  token: string
  notification?: { title?: string; body: string }
  data: Record<string, string>
  android: { priority: FcmPriority; ttl?: string; notification?: FcmAndroidNotification }
}

export type FcmSendBody = { message: FcmMessage }

/** Builds the `messages:send` body for one registration token. */
export function translateFcm(
  message: UnifiedMessage,
  options: DeliveryOptions,
  token: string,
): FcmSendBody {
  const notification = fcmNotification(message)
  const android: FcmMessage['android'] = {
    priority: message.priority === 'high' ? 'HIGH' : 'NORMAL',
  }
  // `ttl` is a protobuf Duration: seconds with an `s` suffix. 0 means "now or never" and must
  // reach Google as "0s"; leaving it out would mean FCM's default of four weeks (case 5).
  if (options.ttl !== undefined) android.ttl = `${options.ttl}s`
  const extras = notification && androidNotification(message)
  if (extras) android.notification = extras

  const body: FcmMessage = { token, data: fcmData(message, options), android }
  if (notification) body.notification = notification
  return { message: body }
}

/**
 * The UTF-8 bytes FCM counts against `FCM_MAX_PAYLOAD`: every key and value of `data`, plus the
 * notification's title and body. Google does not publish the exact formula; this counts the text
 * a device receives and none of the JSON punctuation around it.
 */
export function fcmPayloadBytes(message: UnifiedMessage, options: DeliveryOptions): number {
  let bytes = 0
  for (const [key, value] of Object.entries(fcmData(message, options))) {
    bytes += utf8Length(key) + utf8Length(value)
  }
  const notification = fcmNotification(message)
  if (notification) bytes += utf8Length(notification.title ?? '') + utf8Length(notification.body)
  return bytes
}

/**
 * The `user-data` keys FCM refuses with INVALID_ARGUMENT ("from", "message_type", and any word
 * starting with "google" or "gcm"). Translation sends them anyway; the sender should refuse them.
 */
export function fcmReservedDataKeys(message: UnifiedMessage): string[] {
  return Object.keys(message['user-data'] ?? {}).filter(isReservedDataKey)
}

export function isReservedDataKey(key: string): boolean {
  return (
    key === 'from' || key === 'message_type' || key.startsWith('google') || key.startsWith('gcm')
  )
}

// FCM's `data` is a map<string, string>: Google answers 400 to any other value (case 4).
// Strings travel as they are; everything else as its JSON text, so 21465 becomes "21465".
function fcmData(message: UnifiedMessage, options: DeliveryOptions): Record<string, string> {
  const data: Record<string, string> = {}
  for (const [key, value] of Object.entries(message['user-data'] ?? {})) {
    data[key] = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null')
  }
  data[PUSH_ID_KEY] = options.pushMessageId
  return data
}

function fcmNotification(message: UnifiedMessage): FcmMessage['notification'] {
  if (message.alert === undefined) return undefined
  const title = message.apns?.title
  return title === undefined ? { body: message.alert } : { title, body: message.alert }
}

// Only for a displayed notification: an `android.notification` without an alert would turn a
// silent data message into an empty notification in the tray.
// `notification_count` is the launcher badge. FCM reads 0 as "unspecified" (the launcher keeps
// counting by itself), not as "clear", so a badge of 0 is not sent.
function androidNotification(message: UnifiedMessage): FcmAndroidNotification | undefined {
  const extras: FcmAndroidNotification = {}
  if (message.sound !== undefined) extras.sound = message.sound
  if (message.badge !== undefined && message.badge > 0) extras.notification_count = message.badge
  return Object.keys(extras).length > 0 ? extras : undefined
}

const encoder = new TextEncoder()

function utf8Length(text: string): number {
  return encoder.encode(text).byteLength
}
