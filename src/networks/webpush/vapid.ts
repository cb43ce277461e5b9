/**
 * VAPID (RFC 8292): the `Authorization: vapid t=<jwt>, k=<public key>` header that identifies a
 * variant to a push service. Owns the claims, the signature and the per-isolate cache.
 *
 * Signed here with jose rather than with the Web Push library's `vapidHeaders`: that one refuses
 * `http:` endpoints, which local push services need under ALLOW_INSECURE_ENDPOINTS, and reads the
 * wall clock, which tests cannot pin.
 */
import { base64url, importJWK, SignJWT } from 'jose'
import type { VapidKeyPair } from './vapid-keys'

/** The variant's key pair in its stored form (see vapid-keys.ts) and its subject (the `alias`). */
export type VapidCredentials = VapidKeyPair & { subject: string }

/** RFC 8292 section 2 allows at most 24 hours; 12 leaves room for clock skew at the service. */
export const VAPID_LIFETIME_MS = 12 * 60 * 60 * 1000

/** A cached header is replaced this long before its `exp`, so no request carries a dying token. */
export const VAPID_RENEW_BEFORE_MS = 60 * 60 * 1000

// One entry per (key, subject, push service origin): a handful of origins per variant. The bound
// only matters for an isolate that serves thousands of variants; the oldest entry goes first.
const CACHE_LIMIT = 1000

type Entry = { header: Promise<string>; expiresAt: number }
const cache = new Map<string, Entry>()

/**
 * The audience of a token: the endpoint's origin, scheme, host and a port that is not the
 * default, without the path (RFC 8292 section 2).
 */
export function vapidAudience(endpoint: string): string {
  return new URL(endpoint).origin
}

/**
 * The Authorization header for a push to `endpoint`, reused while it has more than an hour left.
 * The promise is cached, not the string, so that concurrent pushes to one origin share one
 * signature instead of each minting their own.
 */
export function vapidAuthorization(
  credentials: VapidCredentials,
  endpoint: string,
  now: number,
): Promise<string> {
  const audience = vapidAudience(endpoint)
  const key = `${credentials.publicKey} ${credentials.subject} ${audience}`
  const cached = cache.get(key)
  if (cached && now < cached.expiresAt - VAPID_RENEW_BEFORE_MS) return cached.header

  const exp = Math.floor((now + VAPID_LIFETIME_MS) / 1000)
  const header = mintAuthorization(credentials, audience, exp)
  cache.delete(key)
  cache.set(key, { header, expiresAt: exp * 1000 })
  // A key that cannot sign must not stay cached as a rejected promise.
  header.catch(() => {
    if (cache.get(key)?.header === header) cache.delete(key)
  })
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value ?? key)
  return header
}

async function mintAuthorization(
  credentials: VapidCredentials,
  aud: string,
  exp: number,
): Promise<string> {
  const point = base64url.decode(credentials.publicKey)
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: base64url.encode(point.subarray(1, 33)),
    y: base64url.encode(point.subarray(33, 65)),
    d: credentials.privateKey,
  }
  const signingKey = await importJWK(jwk, 'ES256')
  const jwt = await new SignJWT({ aud, exp, sub: credentials.subject })
    .setProtectedHeader({ typ: 'JWT', alg: 'ES256' })
    .sign(signingKey)
  // RFC 8292 section 3: one scheme carries both the token and the key; no Crypto-Key header.
  return `vapid t=${jwt}, k=${credentials.publicKey}`
}
