/**
 * A browser's view of the admin UI inside workerd: sign in with the admin token, keep the
 * session cookie (and the one-time flash cookie) as a browser would, read the CSRF token from a
 * page, and post forms the way the pages do.
 */
import { exports } from 'cloudflare:workers'
import { expect } from 'vitest'
import { ADMIN_TOKEN } from '../helpers'

export const ORIGIN = 'https://pushgate.test'

export type Browser = {
  /** Cookies as the browser keeps them: name → value. */
  cookies: Map<string, string>
  csrf: string
}

export function request(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: BodyInit } = {},
) {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method,
      headers: init.headers,
      body: init.body ?? null,
      redirect: 'manual',
    }),
  )
}

/** Applies the `Set-Cookie` headers of an answer to the browser's jar. */
export function keepCookies(browser: Browser, res: Response) {
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';')
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = /max-age=0/i.test(line) || value === ''
    if (expired) browser.cookies.delete(name)
    else browser.cookies.set(name, value)
  }
}

export function cookieHeader(browser: Browser) {
  return [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
}

/** Signs in through the sign-in form and reads the CSRF token from the dashboard. */
export async function signIn(): Promise<Browser> {
  const browser: Browser = { cookies: new Map(), csrf: '' }
  const res = await request('POST', '/ui/signin', {
    body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/ui/' }),
    headers: { Origin: ORIGIN },
  })
  expect(res.status).toBe(303)
  keepCookies(browser, res)
  const page = await get(browser, '/ui/')
  expect(page.status).toBe(200)
  browser.csrf = csrfOf(await page.text())
  return browser
}

export function csrfOf(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]+)"/.exec(html)
  if (!match?.[1]) throw new Error('the page has no CSRF token')
  return match[1]
}

/** A GET as the browser, cookies sent and kept. */
export async function get(browser: Browser, path: string, headers: Record<string, string> = {}) {
  const res = await request('GET', path, { headers: { Cookie: cookieHeader(browser), ...headers } })
  keepCookies(browser, res)
  return res
}

/** Posts a form as the page would (its `_csrf` field included unless given). */
export async function postForm(browser: Browser, path: string, fields: Record<string, string>) {
  const body = new URLSearchParams({ _csrf: browser.csrf, ...fields })
  const res = await request('POST', path, {
    body,
    headers: { Cookie: cookieHeader(browser), Origin: ORIGIN },
  })
  keepCookies(browser, res)
  return res
}

/** A fetch of the JSON API as the client script makes it: cookie, CSRF header, JSON body. */
export async function fetchApi(
  browser: Browser,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const all: Record<string, string> = {
    Cookie: cookieHeader(browser),
    Accept: 'application/json',
    'X-CSRF-Token': browser.csrf,
    Origin: ORIGIN,
    ...headers,
  }
  if (body !== undefined) all['Content-Type'] = 'application/json'
  return request(method, path, {
    headers: all,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
}
