/**
 * One-time messages carried across a redirect (post, redirect, get): the outcome of a form post
 * and, once, a master secret that the API showed when it created or reset it. The cookie is
 * encrypted (AES-GCM under a key derived from the session secrets, bound to the session id) so
 * that the secret never sits readable in the browser's cookie store, lives two minutes, and is
 * cleared by the first page that shows it: a reload shows the secret masked.
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { base64url } from 'jose'
import { z } from 'zod'
import { type Session, uiKeys } from './session'

export const FLASH_COOKIE = 'pg_flash'
const FLASH_TTL_SECONDS = 120
const IV_BYTES = 12
const COOKIE_OPTIONS = { path: '/ui', httpOnly: true, secure: true, sameSite: 'Strict' } as const

export const Flash = z.object({
  notice: z.string().optional(),
  error: z.string().optional(),
  details: z.record(z.string(), z.string()).optional(),
  masterSecret: z.string().optional(),
  pushApplicationID: z.string().optional(),
})

export type Flash = z.infer<typeof Flash>

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export async function setFlash<E extends { Bindings: Env }>(
  c: Context<E>,
  session: Session,
  flash: Flash,
) {
  const keys = await uiKeys(c.env)
  if (!keys) return
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const params = { name: 'AES-GCM', iv, additionalData: encoder.encode(session.sid) }
  const sealed = await crypto.subtle.encrypt(
    params,
    keys.flash,
    encoder.encode(JSON.stringify(flash)),
  )
  const value = `${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`
  setCookie(c, FLASH_COOKIE, value, { ...COOKIE_OPTIONS, maxAge: FLASH_TTL_SECONDS })
}

/** Reads and clears the flash of this request; null when there is none or it does not open. */
export async function takeFlash<E extends { Bindings: Env }>(c: Context<E>, session: Session) {
  const value = getCookie(c, FLASH_COOKIE)
  if (value === undefined) return null
  deleteCookie(c, FLASH_COOKIE, COOKIE_OPTIONS)
  const keys = await uiKeys(c.env)
  const [iv, sealed] = value.split('.')
  if (!keys || !iv || !sealed) return null
  try {
    const params = {
      name: 'AES-GCM',
      iv: base64url.decode(iv),
      additionalData: encoder.encode(session.sid),
    }
    const plain = await crypto.subtle.decrypt(params, keys.flash, base64url.decode(sealed))
    const parsed = Flash.safeParse(JSON.parse(decoder.decode(plain)))
    return parsed.success ? parsed.data : null
  } catch {
    // Another session's flash, an old key or a damaged cookie: nothing to show.
    return null
  }
}
