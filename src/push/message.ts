/**
 * The unified message of `POST /rest/sender`: one notification, the criteria that pick its
 * devices, and its delivery options, as UPS senders write them. Validated once here; every
 * network adapter translates the parsed value and never sees raw input.
 */
import { z } from 'zod'

/**
 * Keys UPS senders use that name platforms Pushgate does not serve; accepted and ignored.
 * `simplePush` is how the UPS Node sender (unifiedpush-node-sender 0.16.1) sends `simple-push`:
 * it dashes `userData` and the `apns` keys but passes this one through in camelCase, and a
 * strict schema refused its documented message with a 400.
 */
const RETIRED = {
  windows: z.unknown().optional(),
  'simple-push': z.unknown().optional(),
  simplePush: z.unknown().optional(),
}

const Apns = z.strictObject({
  title: z.string().max(4096).optional(),
  action: z.string().max(4096).optional(),
  'action-category': z.string().max(256).optional(),
  'url-args': z.array(z.string().max(4096)).max(64).optional(),
  'content-available': z.boolean().optional(),
  'mutable-content': z.boolean().optional(),
  'title-loc-key': z.string().max(256).optional(),
  'title-loc-args': z.array(z.string().max(4096)).max(64).optional(),
})

// UPS's Node sender documents `badge` as a string; the number inside it is what counts.
const Badge = z.union([
  z.number().int().min(0).max(1_000_000),
  z
    .string()
    .regex(/^\d{1,7}$/, 'a non-negative whole number')
    .transform(Number),
])

export const Message = z.strictObject({
  alert: z.string().max(4096).optional(),
  sound: z.string().max(256).optional(),
  badge: Badge.optional(),
  priority: z.enum(['normal', 'high']).optional(),
  'user-data': z.record(z.string(), z.unknown()).optional(),
  apns: Apns.optional(),
  ...RETIRED,
})

const list = (max: number) => z.array(z.string().min(1).max(255)).max(max).optional()

export const Criteria = z.strictObject({
  alias: list(1000),
  deviceType: list(100),
  categories: list(100),
  variants: list(100),
})

export const SendRequest = z.strictObject({
  message: Message,
  criteria: Criteria.optional(),
  config: z.strictObject({ ttl: z.number().int().min(0).max(2_419_200).optional() }).optional(),
})

export type UnifiedMessage = z.infer<typeof Message>
export type Criteria = z.infer<typeof Criteria>
export type SendRequest = z.infer<typeof SendRequest>

/** The delivery options a network adapter needs beside the message. */
export type DeliveryOptions = {
  /** Seconds; undefined means the network's default. 0 means "now or never" and stays 0. */
  ttl: number | undefined
  /** The push message id, carried in every payload as `aerogear-push-id`. */
  pushMessageId: string
}

export const PUSH_ID_KEY = 'aerogear-push-id'
