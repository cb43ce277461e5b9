/**
 * Device tokens as registration receives them, turned into the one form we store.
 *
 * Owns the per-variant rules of API.md "Device registration": which inputs `ios_token`, `android`
 * and `web_push` variants accept, the canonical `deviceToken` string kept in the database, and the
 * key that makes an installation unique within a variant. Every caller that takes a token from
 * outside (registration, the importer, `x-ag-old-token`, DELETE by token) goes through here, so
 * that one device is one row whatever spelling its client sends.
 *
 * Refusals are values whose reason is a sentence fit for a 400 body. A reason never repeats the
 * token: tokens identify a device, and reasons end up in responses and logs.
 */
import { base64url } from 'jose'
import { z } from 'zod'
import { checkPushEndpoint } from './push-endpoint'

export type VariantType = 'android' | 'ios_token' | 'web_push'

export type TokenResult =
  /** `token` is the canonical stored deviceToken; `key` is unique within a variant. */
  { ok: true; token: string; key: string } | { ok: false; reason: string }

export interface TokenOptions {
  /**
   * ALLOW_INSECURE_ENDPOINTS, for local push services: Web Push endpoints may be `http:`, IP
   * addresses and local names on any port (see src/push/push-endpoint.ts).
   */
  allowInsecure: boolean
}

type Refusal = { ok: false; reason: string }
type Checked<T> = { ok: true; value: T } | Refusal

// APNs tokens were 32 bytes for years, but Apple calls them opaque and variable in length, and
// 80-byte tokens have been seen. 200 hex digits (100 bytes) leaves headroom for longer ones while
// bounding what a client can make us store.
const IOS_MIN_HEX = 64
const IOS_MAX_HEX = 200

// FCM documents no maximum; today's registration tokens are about 150-165 characters. 4096 bounds
// the row without refusing any token Google is likely to issue.
const FCM_MIN = 100
const FCM_MAX = 4096
const FCM_ALPHABET = /^[A-Za-z0-9_:-]+$/

// Push services hand out endpoints of 100-500 characters; 2048 is the URL limit most HTTP stacks
// agree on.
const ENDPOINT_MAX = 2048
// The JSON of a subscription is its endpoint plus about 200 characters; base64 adds a third.
const SUBSCRIPTION_TEXT_MAX = 4 * ENDPOINT_MAX
// Room for the base64 of either key with padding and stray characters, while refusing megabytes.
const KEY_TEXT_MAX = 256
// RFC 8291 section 3.1: p256dh is an uncompressed P-256 point, 0x04 || X || Y.
const P256DH_BYTES = 65
// RFC 8291 section 3.2: the authentication secret is 16 octets.
const AUTH_BYTES = 16

// Both alphabets, padding only at the end: UPS clients sent standard base64, browsers base64url.
const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/

const SHAPE_REASON =
  'A Web Push token must be the browser PushSubscription {endpoint, keys: {p256dh, auth}}: ' +
  'an object, its JSON, or the base64 of its JSON.'

// Strip mode drops unknown fields such as `expirationTime`: we neither store nor trust them.
const subscriptionSchema = z.object({
  endpoint: z.string().min(1).max(ENDPOINT_MAX),
  keys: z.object({
    p256dh: z.string().min(1).max(KEY_TEXT_MAX),
    auth: z.string().min(1).max(KEY_TEXT_MAX),
  }),
})

/**
 * Checks a device token for a variant of the given type and returns its canonical form.
 * Asynchronous for every type because a Web Push key is verified with WebCrypto.
 */
export async function normaliseDeviceToken(
  type: VariantType,
  raw: unknown,
  opts: TokenOptions,
): Promise<TokenResult> {
  switch (type) {
    case 'ios_token':
      return normaliseApnsToken(raw)
    case 'android':
      return normaliseFcmToken(raw)
    case 'web_push':
      return normaliseSubscription(raw, opts)
    default: {
      const unknownType: never = type
      throw new Error(`normaliseDeviceToken: unknown variant type ${String(unknownType)}`)
    }
  }
}

function normaliseApnsToken(raw: unknown): TokenResult {
  if (typeof raw !== 'string') return refuse('An iOS device token must be a string of hex digits.')

  // Clients send what `NSData.description` printed: `<1e2122ba 4ccabb8e ...>`, in any case.
  const hex = raw.replace(/[ <>-]/g, '').toLowerCase()
  if (hex === '') return refuse('The iOS device token is empty.')
  if (!/^[0-9a-f]+$/.test(hex)) {
    return refuse('An iOS device token may hold only hex digits, spaces, dashes and <>.')
  }
  if (hex.length % 2 !== 0) {
    return refuse(
      `An iOS device token has an even number of hex digits; this one has ${hex.length}.`,
    )
  }
  if (hex.length < IOS_MIN_HEX || hex.length > IOS_MAX_HEX) {
    return refuse(
      `An iOS device token has ${IOS_MIN_HEX} to ${IOS_MAX_HEX} hex digits; ` +
        `this one has ${hex.length}.`,
    )
  }

  return { ok: true, token: hex, key: hex }
}

function normaliseFcmToken(raw: unknown): TokenResult {
  if (typeof raw !== 'string') return refuse('An FCM registration token must be a string.')

  // Whitespace is refused, not trimmed: a client that pads its token has a bug worth seeing.
  if (raw.length < FCM_MIN || raw.length > FCM_MAX) {
    return refuse(
      `An FCM registration token has ${FCM_MIN} to ${FCM_MAX} characters; ` +
        `this one has ${raw.length}.`,
    )
  }
  if (!FCM_ALPHABET.test(raw)) {
    return refuse('An FCM registration token may hold only letters, digits, "-", "_" and ":".')
  }

  return { ok: true, token: raw, key: raw }
}

async function normaliseSubscription(raw: unknown, opts: TokenOptions): Promise<TokenResult> {
  const input = readSubscriptionInput(raw)
  if (!input.ok) return input

  const parsed = subscriptionSchema.safeParse(input.value)
  if (!parsed.success) return refuse(describeIssue(parsed.error.issues[0]))

  const endpoint = checkEndpoint(parsed.data.endpoint, opts)
  if (!endpoint.ok) return endpoint

  const p256dh = await checkP256dh(parsed.data.keys.p256dh)
  if (!p256dh.ok) return p256dh

  const auth = decodeBase64Any(parsed.data.keys.auth)
  if (auth?.length !== AUTH_BYTES) {
    return refuse(`The subscription key auth must be ${AUTH_BYTES} bytes in base64url.`)
  }

  const keys = { p256dh: p256dh.value, auth: base64url.encode(auth) }
  const token = JSON.stringify({ endpoint: endpoint.value, keys })
  // A browser subscription is identified by its endpoint: re-subscribing with new keys at the
  // same endpoint must update the one row.
  return { ok: true, token, key: endpoint.value }
}

/** Turns the three accepted spellings of a subscription into a plain value for zod. */
function readSubscriptionInput(raw: unknown): Checked<unknown> {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw))
    return { ok: true, value: raw }
  if (typeof raw !== 'string') return refuse(SHAPE_REASON)
  if (raw.length > SUBSCRIPTION_TEXT_MAX) {
    return refuse(`A Web Push token has at most ${SUBSCRIPTION_TEXT_MAX} characters.`)
  }

  // Base64 of a JSON object starts with "ey", so a leading brace tells the two apart.
  const text = raw.trimStart().startsWith('{') ? raw : decodeUtf8(decodeBase64Any(raw))
  const value = text === undefined ? undefined : parseJson(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse(SHAPE_REASON)
  }

  return { ok: true, value }
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  const field = issue ? issue.path.map(String).join('.') : ''
  if (!issue || field === '') return SHAPE_REASON
  if (issue.code === 'too_big') return `The subscription's ${field} is too long.`
  if (issue.code === 'too_small') return `The subscription's ${field} is empty.`
  return `The subscription has no ${field} string.`
}

function checkEndpoint(text: string, opts: TokenOptions): Checked<string> {
  const url = URL.parse(text)
  if (!url) return refuse('The subscription endpoint is not an absolute URL.')

  const problem = checkPushEndpoint(url, opts)
  if (problem) return refuse(problem)
  // The serialised form is what we store and send to; it can be longer than the input.
  if (url.href.length > ENDPOINT_MAX) {
    return refuse(`The subscription endpoint has at most ${ENDPOINT_MAX} characters.`)
  }

  return { ok: true, value: url.href }
}

async function checkP256dh(text: string): Promise<Checked<string>> {
  const bytes = decodeBase64Any(text)
  if (bytes?.length !== P256DH_BYTES || bytes[0] !== 0x04) {
    return refuse(
      `The subscription key p256dh must be an uncompressed P-256 point: ` +
        `${P256DH_BYTES} bytes starting with 0x04, in base64url.`,
    )
  }

  // Length and prefix say nothing about X and Y; a point off the curve would only fail at send
  // time, for every message, so WebCrypto checks it now.
  const importable = await crypto.subtle
    .importKey('raw', bytes, { name: 'ECDH', namedCurve: 'P-256' }, true, [])
    .then(
      () => true,
      () => false,
    )
  if (!importable) return refuse('The subscription key p256dh is not a point on the P-256 curve.')

  return { ok: true, value: base64url.encode(bytes) }
}

/** Decodes base64 or base64url, padded or not; undefined when the text is neither. */
function decodeBase64Any(text: string): Uint8Array | undefined {
  if (!BASE64_ANY.test(text)) return undefined

  const unpadded = text.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_')
  // One character past a group of four carries only 6 bits: not a byte, so not base64.
  if (unpadded.length % 4 === 1) return undefined
  try {
    return base64url.decode(unpadded)
  } catch {
    return undefined
  }
}

function decodeUtf8(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return undefined
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return undefined
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function refuse(reason: string): Refusal {
  return { ok: false, reason }
}
