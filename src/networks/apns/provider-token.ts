/**
 * The provider token APNs wants in `authorization: bearer <token>`: an ES256 JWT signed with the
 * variant's .p8 key, header `{alg, kid}`, claims `{iss: teamId, iat}` and nothing else.
 *
 * Apple refuses a token older than an hour (403 ExpiredProviderToken) and one renewed more often
 * than every 20 minutes (429 TooManyProviderTokenUpdates), counting every server of the team, so
 * the token is never minted per request or per isolate (case 11): every isolate shares one
 * through `ctx.sharedToken` (src/db/tokens.ts), under `apns:<teamId>:<keyId>:<key digest>`, and
 * renews it once it is 40 minutes old, or once when Apple calls it expired.
 *
 * Reference: Apple, "Establishing a token-based connection to APNs".
 */
import { importPKCS8, SignJWT } from 'jose'
import { sha256Hex } from '../../auth/secrets'
import type { AdapterContext } from '../adapter'

/** Renewed at this age: inside Apple's 20 to 60 minutes, far from both ends. */
export const PROVIDER_TOKEN_RENEW_AFTER_MS = 40 * 60_000
/** Apple accepts a token for an hour after its `iat`. */
export const PROVIDER_TOKEN_LIFETIME_MS = 60 * 60_000

export type ProviderTokenCredentials = {
  /** The .p8 file: a P-256 key in PKCS#8 PEM. */
  privateKey: string
  keyId: string
  teamId: string
}

export type ProviderTokenResult =
  | { ok: true; token: string }
  /** The stored key cannot sign: no request can succeed for this variant. */
  | { ok: false; reason: 'signing_key_unusable' }

/** Hex digits of the key's SHA-256 kept in the cache key: 128 bits. */
const KEY_DIGEST_HEX = 32

/**
 * The key under which every isolate shares the token of one signing key. The team and key id
 * are public (every token carries them), so they alone would hand this token to any variant that
 * names them with a key of its own, and let a variant with a wrong .p8 store a token Apple
 * refuses for every variant of that key id. A digest of the key itself keeps those apart.
 */
export async function providerTokenKey(credentials: ProviderTokenCredentials): Promise<string> {
  const digest = await sha256Hex(pemBody(credentials.privateKey))
  return `apns:${credentials.teamId}:${credentials.keyId}:${digest.slice(0, KEY_DIGEST_HEX)}`
}

// What jose reads of a PEM: the base64 between the armour lines, whitespace skipped. The same
// .p8 pasted with CRLF or LF, or wrapped at another width, gives the same body.
function pemBody(pem: string): string {
  return pem.replace(/-----(?:BEGIN|END) PRIVATE KEY-----|\s/g, '')
}

/** Signs a provider token issued at `now` (ms), bypassing the shared cache. */
export async function signProviderToken(
  credentials: ProviderTokenCredentials,
  now: number,
): Promise<string> {
  const key = await importPKCS8(credentials.privateKey, 'ES256')
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: credentials.keyId })
    .setIssuer(credentials.teamId)
    .setIssuedAt(Math.floor(now / 1000))
    .sign(key)
}

/**
 * The team's shared provider token, minted only when the cache holds none younger than 40
 * minutes. `rejected` (after 403 ExpiredProviderToken) is the token Apple refused: it is never
 * returned again, and a token another batch or isolate renewed meanwhile is taken instead of a
 * new one, since Apple answers a second renewal within 20 minutes with
 * TooManyProviderTokenUpdates.
 */
export async function apnsProviderToken(
  credentials: ProviderTokenCredentials,
  ctx: AdapterContext,
  opts: { rejected?: string } = {},
): Promise<ProviderTokenResult> {
  const mint = async () => {
    const issuedAt = Math.floor(ctx.now() / 1000) * 1000
    let token: string
    try {
      token = await signProviderToken(credentials, issuedAt)
    } catch {
      throw new SigningKeyUnusable()
    }
    return { token, expiresAt: issuedAt + PROVIDER_TOKEN_LIFETIME_MS }
  }
  try {
    const token = await ctx.sharedToken(await providerTokenKey(credentials), mint, {
      renewIfOlderThanMs: PROVIDER_TOKEN_RENEW_AFTER_MS,
      ...(opts.rejected !== undefined && { rejected: opts.rejected }),
    })
    return { ok: true, token }
  } catch (error) {
    // Only a key that cannot sign is the variant's problem; a D1 failure reaches the caller.
    if (error instanceof SigningKeyUnusable) return { ok: false, reason: 'signing_key_unusable' }
    throw error
  }
}

class SigningKeyUnusable extends Error {
  constructor() {
    super('The APNs signing key of the variant cannot sign ES256 tokens.')
  }
}
