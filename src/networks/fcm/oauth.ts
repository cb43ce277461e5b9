/**
 * The OAuth 2.0 access token FCM HTTP v1 wants, obtained from the variant's service account: an
 * RS256 JWT assertion (RFC 7523 §2.1) posted to the account's `token_uri`, traded for a bearer
 * token Google keeps valid for about an hour.
 *
 * Every isolate shares one token per service-account key through `ctx.sharedToken`, under the key
 * `fcm:<client_email>:<key digest>`. What this module expects of that cache (src/db/tokens.ts):
 * - `mint` returns Google's own expiry, measured from before the request was sent; the cache
 *   hands the token out until five minutes before it (`renewIfOlderThanMs` is not used);
 * - `rejected` (the token a 401 refused) is never returned again: a different token another
 *   batch or isolate renewed meanwhile is adopted, and only when none did is a new one minted;
 * - when `mint` throws, nothing is stored and the error reaches the caller unchanged.
 * Failures are values here: `mint` throws only inside this module, and the error is turned back
 * into a `TokenResult` before it leaves.
 */
import { importPKCS8, SignJWT } from 'jose'
import { z } from 'zod'
import { sha256Hex } from '../../auth/secrets'
import type { AdapterContext } from '../adapter'
import type { ServiceAccount } from './service-account'

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** Google refuses assertions that live longer than an hour. */
const ASSERTION_LIFETIME_S = 3600
const TOKEN_TIMEOUT_MS = 10_000
/** Hex digits of the key's SHA-256 kept in the cache key: 128 bits. */
const KEY_DIGEST_HEX = 32

export type TokenResult =
  | { ok: true; token: string }
  /** `variant_problem`: the account or its token_uri is wrong. `retry`: the endpoint failed. */
  | { ok: false; kind: 'variant_problem' | 'retry'; reason: string }

type Minted = { ok: true; token: string; expiresAt: number }

export type TokenOptions = {
  allowInsecure: boolean
  /** The token FCM answered 401 to: never returned again. */
  rejected?: string
  timeoutMs?: number
}

const TokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
  token_type: z.string().regex(/^bearer$/i, 'a Bearer token'),
})

// RFC 6749 §5.2: `error` is one of a few ASCII words (invalid_grant, invalid_client...).
const TokenError = z.object({ error: z.string().regex(/^[\w.-]{1,64}$/) })

/**
 * The key under which every isolate shares the token of this account's key. client_email is
 * public, so it alone would hand this token to any variant that names the account with a key of
 * its own. A digest of the key and of the token_uri it is traded at keeps those apart.
 */
export async function sharedTokenKey(account: ServiceAccount): Promise<string> {
  const digest = await sha256Hex(JSON.stringify([pemBody(account.private_key), account.token_uri]))
  return `fcm:${account.client_email}:${digest.slice(0, KEY_DIGEST_HEX)}`
}

// What jose reads of a PEM: the base64 between the armour lines, whitespace skipped. The same
// key pasted with CRLF or LF gives the same body.
function pemBody(pem: string): string {
  return pem.replace(/-----(?:BEGIN|END) PRIVATE KEY-----|\s/g, '')
}

/** The shared access token for `account`, minting one when the cache has none that is fresh. */
export async function fcmAccessToken(
  account: ServiceAccount,
  ctx: AdapterContext,
  opts: TokenOptions,
): Promise<TokenResult> {
  if (!opts.allowInsecure && new URL(account.token_uri).protocol !== 'https:') {
    return { ok: false, kind: 'variant_problem', reason: 'insecure_token_uri' }
  }
  const mint = async () => {
    const minted = await mintFcmAccessToken(account, ctx, opts.timeoutMs)
    if (!minted.ok) throw new MintFailed(minted)
    return { token: minted.token, expiresAt: minted.expiresAt }
  }
  try {
    const key = await sharedTokenKey(account)
    const token = await ctx.sharedToken(key, mint, { rejected: opts.rejected })
    return { ok: true, token }
  } catch (error) {
    if (error instanceof MintFailed) return error.result
    throw error
  }
}

/** Signs an assertion and trades it at `token_uri`, bypassing the shared cache. */
export async function mintFcmAccessToken(
  account: ServiceAccount,
  ctx: Pick<AdapterContext, 'fetch' | 'now'>,
  timeoutMs = TOKEN_TIMEOUT_MS,
): Promise<Minted | Exclude<TokenResult, { ok: true }>> {
  const requestedAt = ctx.now()
  const form = new URLSearchParams({
    grant_type: JWT_BEARER_GRANT,
    assertion: await signAssertion(account, requestedAt),
  })
  // Called unbound: workerd's fetch throws "Illegal invocation" when called as `ctx.fetch(...)`.
  const fetcher = ctx.fetch
  let response: Response
  try {
    response = await fetcher(account.token_uri, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch {
    return { ok: false, kind: 'retry', reason: 'token_unavailable' }
  }

  const json = await response.json().catch(() => undefined)
  if (response.status === 429 || response.status >= 500) {
    return { ok: false, kind: 'retry', reason: 'token_unavailable' }
  }
  if (!response.ok) {
    const refused = TokenError.safeParse(json)
    const reason = refused.success ? refused.data.error : `token_http_${response.status}`
    return { ok: false, kind: 'variant_problem', reason }
  }
  const answer = TokenAnswer.safeParse(json)
  if (!answer.success) return { ok: false, kind: 'variant_problem', reason: 'token_answer_invalid' }

  const expiresAt = requestedAt + answer.data.expires_in * 1000
  return { ok: true, token: answer.data.access_token, expiresAt }
}

/** The RS256 JWT assertion of Google's service-account flow, issued at `now` (ms). */
export async function signAssertion(account: ServiceAccount, now: number): Promise<string> {
  const key = await importPKCS8(account.private_key, 'RS256')
  const iat = Math.floor(now / 1000)
  const header = account.private_key_id
    ? { alg: 'RS256', typ: 'JWT', kid: account.private_key_id }
    : { alg: 'RS256', typ: 'JWT' }
  return new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader(header)
    .setIssuer(account.client_email)
    .setAudience(account.token_uri)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(key)
}

class MintFailed extends Error {
  constructor(readonly result: Exclude<TokenResult, { ok: true }>) {
    super(`FCM access token not minted: ${result.reason}`)
  }
}
