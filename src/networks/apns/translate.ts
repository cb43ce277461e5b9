/**
 * The unified message as Apple's push service takes it: the JSON payload (`aps` plus user-data
 * keys and `aerogear-push-id` at the top level) and the `apns-*` headers. Pure. Apple's names are
 * kept verbatim. Reference: Apple, "Generating a remote notification" and "Sending notification
 * requests to APNs".
 */
import { type DeliveryOptions, PUSH_ID_KEY, type UnifiedMessage } from '../../push/message'

/** Apple refuses payloads over 4 KB (`PayloadTooLarge`) for regular notifications. */
export const APNS_MAX_PAYLOAD = 4096

type Alert =
  | string
  | {
      title?: string
      body?: string
      action?: string
      'title-loc-key'?: string
      'title-loc-args'?: string[]
    }

export function apnsPayload(message: UnifiedMessage, options: DeliveryOptions) {
  const apns = message.apns ?? {}
  const aps: Record<string, unknown> = {}
  const alert = apnsAlert(message)
  if (alert !== undefined) aps.alert = alert
  if (message.badge !== undefined) aps.badge = message.badge
  if (message.sound !== undefined) aps.sound = message.sound
  if (apns['action-category'] !== undefined) aps.category = apns['action-category']
  if (apns['content-available']) aps['content-available'] = 1
  if (apns['mutable-content']) aps['mutable-content'] = 1
  if (apns['url-args'] !== undefined) aps['url-args'] = apns['url-args']
  // User data first, so that `aps` and the push id cannot be overwritten by it.
  return { ...message['user-data'], aps, [PUSH_ID_KEY]: options.pushMessageId }
}

function apnsAlert(message: UnifiedMessage): Alert | undefined {
  const apns = message.apns ?? {}
  const hasExtras =
    apns.title !== undefined ||
    apns.action !== undefined ||
    apns['title-loc-key'] !== undefined ||
    apns['title-loc-args'] !== undefined
  if (!hasExtras) return message.alert
  const alert: Exclude<Alert, string> = {}
  if (apns.title !== undefined) alert.title = apns.title
  if (message.alert !== undefined) alert.body = message.alert
  if (apns.action !== undefined) alert.action = apns.action
  if (apns['title-loc-key'] !== undefined) alert['title-loc-key'] = apns['title-loc-key']
  if (apns['title-loc-args'] !== undefined) alert['title-loc-args'] = apns['title-loc-args']
  return alert
}

/**
 * A push that only wakes the app: content-available without alert, sound or badge. The alert is
 * the one the payload will carry, so a title, an action or a localised title alone count too:
 * Apple may refuse, delay or drop a push whose `apns-push-type` does not match its payload.
 */
export function isBackgroundPush(message: UnifiedMessage) {
  return (
    message.apns?.['content-available'] === true &&
    apnsAlert(message) === undefined &&
    message.sound === undefined &&
    message.badge === undefined
  )
}

export function apnsHeaders(
  message: UnifiedMessage,
  options: DeliveryOptions,
  bundleId: string,
  now: number,
): Record<string, string> {
  const background = isBackgroundPush(message)
  // Apple: 10 must alert the user, and a background push must be 5 (10 is an error for it).
  const low = background || (message.priority === 'normal' && apnsAlert(message) === undefined)
  const headers: Record<string, string> = {
    'apns-topic': bundleId,
    'apns-push-type': background ? 'background' : 'alert',
    'apns-priority': low ? '5' : '10',
  }
  // 0 means "deliver now or never" to Apple too: it must stay 0, not become a default.
  if (options.ttl !== undefined) {
    headers['apns-expiration'] =
      options.ttl === 0 ? '0' : String(Math.floor(now / 1000) + options.ttl)
  }
  return headers
}

export function apnsPayloadBytes(message: UnifiedMessage, options: DeliveryOptions) {
  return new TextEncoder().encode(JSON.stringify(apnsPayload(message, options))).byteLength
}
