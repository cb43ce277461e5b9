/**
 * The admin UI's session: a browser trades the admin token once for a signed, expiring cookie,
 * and proves on every state-changing request that the request came from a page of ours.
 *
 * Cookie `pg_session` = `v1.<sid>.<expires>.<mac>`: a random session id, the expiry (Unix ms)
 * and HMAC-SHA256 over both. It never holds the token. The browser sends it as HttpOnly,
 * Secure, SameSite=Strict, so scripts cannot read it and other sites cannot make the browser
 * send it.
 *
 * CSRF: a synchronizer token derived from the session, `HMAC(csrfKey, sid)`, rendered into each
 * page; state-changing requests carry it in `X-CSRF-Token` (fetch) or `_csrf` (forms). Nothing
 * is stored: a page of another origin cannot read ours to learn it and cannot compute it
 * without the key, and it changes with every sign-in. SameSite=Strict already keeps cross-site
 * requests cookieless; the token also covers same-site attackers (a sibling subdomain), which
 * SameSite does not. A present `Origin` or `Sec-Fetch-Site` that says another origin is refused
 * as well.
 *
 * Keys: HKDF-SHA256 with the ADMIN_TOKEN as input keying material and CREDENTIALS_KEY as salt.
 * Rotating either secret ends every session; a stolen cookie cannot be used to brute-force a
 * weak ADMIN_TOKEN offline, since the random CREDENTIALS_KEY is mixed in.
 *
 * Trade-off: sessions are stateless, so signing out clears the browser's cookie but a copy of
 * it stays valid until it expires (SESSION_TTL_MS) or one of the two secrets changes.
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { base64url } from 'jose'
import { ApiError } from '../http/errors'

export const SESSION_COOKIE = 'pg_session'
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000
export const CSRF_HEADER = 'X-CSRF-Token'
export const CSRF_FIELD = '_csrf'

const VERSION = 'v1'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const encoder = new TextEncoder()

export type Session = { sid: string; expires: number }

type Keys = { session: CryptoKey; csrf: CryptoKey; flash: CryptoKey }
type DerivedAlgorithm = Parameters<typeof crypto.subtle.deriveKey>[2]

/** Any Hono context of this Worker. */
export type WorkerContext<E extends { Bindings: Env } = { Bindings: Env }> = Context<E>

// Derived once per isolate and pair of secrets, like the credentials key in auth/sealed.ts.
const derived = new Map<string, Promise<Keys>>()

/** The UI's keys, or null when ADMIN_TOKEN or CREDENTIALS_KEY is not set (no sign-in then). */
export function uiKeys(env: Env): Promise<Keys> | null {
  const token = env.ADMIN_TOKEN ?? ''
  const salt = env.CREDENTIALS_KEY ?? ''
  if (token === '' || salt === '') return null
  const id = `${salt}\u0000${token}`
  let keys = derived.get(id)
  if (!keys) {
    keys = deriveKeys(token, salt)
    derived.set(id, keys)
  }
  return keys
}

async function deriveKeys(token: string, salt: string): Promise<Keys> {
  const ikm = await crypto.subtle.importKey('raw', encoder.encode(token), 'HKDF', false, [
    'deriveKey',
  ])
  const derive = (info: string, algorithm: DerivedAlgorithm, usages: string[]) =>
    crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(salt), info: encoder.encode(info) },
      ikm,
      algorithm,
      false,
      usages,
    )
  const hmac = { name: 'HMAC', hash: 'SHA-256', length: 256 }
  const [session, csrf, flash] = await Promise.all([
    derive('pushgate ui session v1', hmac, ['sign']),
    derive('pushgate ui csrf v1', hmac, ['sign']),
    derive('pushgate ui flash v1', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']),
  ])
  return { session, csrf, flash }
}

async function mac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(text)))
}

function decode(text: string): Uint8Array | null {
  try {
    return base64url.decode(text)
  } catch {
    return null
  }
}

/** Compares a presented MAC with the expected one; both are 32 bytes or the answer is no. */
function sameMac(presented: Uint8Array | null, expected: Uint8Array): boolean {
  if (presented?.byteLength !== expected.byteLength) return false
  return crypto.subtle.timingSafeEqual(presented, expected)
}

/** Makes a new session and its cookie value. */
export async function newSession(env: Env, now: number) {
  const keys = await uiKeys(env)
  if (!keys) throw new Error('ADMIN_TOKEN and CREDENTIALS_KEY must be set to sign in')
  const sid = base64url.encode(crypto.getRandomValues(new Uint8Array(16)))
  const expires = now + SESSION_TTL_MS
  const body = `${VERSION}.${sid}.${expires}`
  const value = `${body}.${base64url.encode(await mac(keys.session, body))}`
  return { session: { sid, expires }, value }
}

/** The session of a cookie value, or null when it is malformed, forged or expired. */
export async function verifySession(env: Env, value: string, now: number) {
  const keys = await uiKeys(env)
  const parts = value.split('.')
  if (!keys || parts.length !== 4) return null
  const [version, sid, expiresText, presented] = parts
  if (version !== VERSION || !sid || !expiresText || !presented) return null
  const expected = await mac(keys.session, `${version}.${sid}.${expiresText}`)
  if (!sameMac(decode(presented), expected)) return null
  const expires = Number(expiresText)
  if (!Number.isSafeInteger(expires) || expires <= now || expires > now + SESSION_TTL_MS) {
    return null
  }
  return { sid, expires } satisfies Session
}

/** The session of this request's cookie, or null. */
export async function readSession<E extends { Bindings: Env }>(
  c: WorkerContext<E>,
): Promise<Session | null> {
  const value = getCookie(c, SESSION_COOKIE)
  if (!value) return null
  return verifySession(c.env, value, Date.now())
}

export function setSessionCookie(c: Context, value: string) {
  setCookie(c, SESSION_COOKIE, value, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    maxAge: SESSION_TTL_MS / 1000,
  })
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'Strict' })
}

/** The CSRF token of a session: what pages embed and state-changing requests send back. */
export async function csrfToken(env: Env, session: Session): Promise<string> {
  const keys = await uiKeys(env)
  if (!keys) throw new Error('ADMIN_TOKEN and CREDENTIALS_KEY must be set to sign in')
  return base64url.encode(await mac(keys.csrf, `${VERSION}.${session.sid}`))
}

/** Whether `presented` is the CSRF token of `session`, compared in constant time. */
export async function validCsrf(env: Env, session: Session, presented: string | undefined) {
  const keys = await uiKeys(env)
  if (!keys || !presented) return false
  const expected = await mac(keys.csrf, `${VERSION}.${session.sid}`)
  return sameMac(decode(presented), expected)
}

/**
 * Whether the browser says the request comes from another origin: `Origin` (sent with every
 * cross-origin fetch and with form posts) or `Sec-Fetch-Site`. Requests without either (curl,
 * in-process calls) are judged by the CSRF token alone.
 */
export function crossOrigin(c: Context): boolean {
  const origin = c.req.header('Origin')
  if (origin !== undefined && origin !== new URL(c.req.url).origin) return true
  const site = c.req.header('Sec-Fetch-Site')
  return site !== undefined && site !== 'same-origin' && site !== 'none'
}

export const csrfRefused = () =>
  new ApiError(403, 'Missing or invalid CSRF token: reload the page and try again', {
    [CSRF_HEADER]: 'required with the session cookie on requests that change state',
  })

export const isSafeMethod = (method: string) => SAFE_METHODS.has(method.toUpperCase())

/**
 * For the admin API's middleware: true when the request carries a valid session cookie (and,
 * when it changes state, this session's CSRF token from the same origin); false when it has
 * no valid session, so that the bearer check answers. Throws 403 for a session without a
 * valid CSRF token.
 */
export async function sessionAdmin<E extends { Bindings: Env }>(
  c: WorkerContext<E>,
): Promise<boolean> {
  const session = await readSession(c)
  if (!session) return false
  if (isSafeMethod(c.req.method)) return true
  if (crossOrigin(c) || !(await validCsrf(c.env, session, c.req.header(CSRF_HEADER)))) {
    throw csrfRefused()
  }
  return true
}
