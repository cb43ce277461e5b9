/**
 * Signing in to the admin UI and what the session cookie opens: the cookie's attributes, that it
 * never holds the token, that it expires and cannot be forged, that state-changing requests need
 * this session's CSRF token from our origin, and that signing out clears it.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { newSession, SESSION_TTL_MS } from '../../src/ui/session'
import { ADMIN_TOKEN, call } from '../helpers'
import {
  type Browser,
  cookieHeader,
  fetchApi,
  get,
  ORIGIN,
  postForm,
  request,
  signIn,
} from './session'

const signinForm = (token: string, headers: Record<string, string> = {}) =>
  request('POST', '/ui/signin', {
    body: new URLSearchParams({ token, next: '/ui/applications' }),
    headers: { Origin: ORIGIN, ...headers },
  })

function sessionCookieLine(res: Response) {
  return res.headers.getSetCookie().find((line) => line.startsWith('pg_session='))
}

describe('sign-in', () => {
  it('shows a labelled form under a strict Content-Security-Policy', async () => {
    const res = await request('GET', '/ui/signin')
    const html = await res.text()

    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Security-Policy')).toContain("script-src 'self'")
    expect(html).toContain('<label for="signin-token">Admin token</label>')
    expect(html).toContain('id="signin-token"')
    expect(html).toContain('type="password"')
  })

  it('refuses a wrong token with 401, in words, and sets no session', async () => {
    const res = await signinForm(`${ADMIN_TOKEN}x`)
    const html = await res.text()

    expect(res.status).toBe(401)
    expect(sessionCookieLine(res)).toBeUndefined()
    expect(html).toContain('id="signin-error"')
    expect(html).toContain('That is not the admin token')
  })

  it('refuses an empty token', async () => {
    const res = await signinForm('')
    expect(res.status).toBe(401)
    expect(sessionCookieLine(res)).toBeUndefined()
  })

  it('sets an HttpOnly, Secure, SameSite=Strict session cookie that is not the token', async () => {
    const res = await signinForm(ADMIN_TOKEN)
    const line = sessionCookieLine(res) ?? ''
    const value = /^pg_session=([^;]*)/.exec(line)?.[1] ?? ''

    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/ui/applications')
    expect(line).toMatch(/;\s*HttpOnly/i)
    expect(line).toMatch(/;\s*Secure/i)
    expect(line).toMatch(/;\s*SameSite=Strict/i)
    expect(line).toMatch(/;\s*Path=\/(;|$)/i)
    expect(line).toMatch(new RegExp(`Max-Age=${SESSION_TTL_MS / 1000}`))
    expect(value).toMatch(/^v1\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/)
    expect(line).not.toContain(ADMIN_TOKEN)
    expect(decodeURIComponent(line)).not.toContain(ADMIN_TOKEN)
  })

  it('refuses a sign-in posted from another origin', async () => {
    const res = await signinForm(ADMIN_TOKEN, { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(sessionCookieLine(res)).toBeUndefined()
  })

  it('goes back only to a page of the UI after signing in', async () => {
    for (const next of ['https://evil.example/', '//evil.example/', '/rest/applications']) {
      const res = await request('POST', '/ui/signin', {
        body: new URLSearchParams({ token: ADMIN_TOKEN, next }),
        headers: { Origin: ORIGIN },
      })
      expect(res.headers.get('Location'), next).toBe('/ui/')
    }
  })

  it('gives every session its own CSRF token', async () => {
    const [a, b] = await Promise.all([signIn(), signIn()])
    expect(a.csrf).not.toBe(b.csrf)
    expect(a.cookies.get('pg_session')).not.toBe(b.cookies.get('pg_session'))
  })
})

describe('the session cookie on the admin API', () => {
  it('reads the API without a bearer token', async () => {
    const browser = await signIn()
    const res = await request('GET', '/rest/applications', {
      headers: { Cookie: cookieHeader(browser) },
    })
    expect(res.status).toBe(200)
  })

  it('refuses a forged, altered or expired cookie', async () => {
    const browser = await signIn()
    const value = browser.cookies.get('pg_session') ?? ''
    const [version, sid, expires, mac] = value.split('.')
    const later = String(Number(expires) + 1000)
    const expired = await newSession(env, Date.now() - SESSION_TTL_MS - 1000)
    const cookies = [
      `pg_session=${version}.${sid}.${later}.${mac}`,
      `pg_session=${version}.${sid}x.${expires}.${mac}`,
      `pg_session=${version}.${sid}.${expires}.${mac?.slice(0, -2)}AA`,
      `pg_session=${ADMIN_TOKEN}`,
      `pg_session=${expired.value}`,
    ]
    for (const cookie of cookies) {
      const res = await request('GET', '/rest/applications', { headers: { Cookie: cookie } })
      expect(res.status, cookie).toBe(401)
      const page = await request('GET', '/ui/applications', { headers: { Cookie: cookie } })
      expect(page.status, cookie).toBe(303)
      expect(page.headers.get('Location')).toBe('/ui/signin?next=%2Fui%2Fapplications')
    }
  })

  it('lets an Authorization header decide when there is one', async () => {
    const browser = await signIn()
    const wrong = await request('GET', '/rest/applications', {
      headers: { Cookie: cookieHeader(browser), Authorization: 'Bearer not-the-token' },
    })
    expect(wrong.status).toBe(401)
    const bearer = await call('GET', '/rest/applications')
    expect(bearer.status).toBe(200)
  })
})

describe('CSRF', () => {
  const create = (browser: Browser, headers: Record<string, string>) =>
    request('POST', '/rest/applications', {
      headers: {
        Cookie: cookieHeader(browser),
        'Content-Type': 'application/json',
        Origin: ORIGIN,
        ...headers,
      },
      body: JSON.stringify({ name: 'csrf-test' }),
    })

  it('refuses a state-changing API call with the cookie but no CSRF token', async () => {
    const browser = await signIn()
    const res = await create(browser, {})
    const body = await res.json<{ message: string }>()

    expect(res.status).toBe(403)
    expect(body.message).toMatch(/CSRF token/)
  })

  it("refuses another session's token, a made-up one, and another origin", async () => {
    const [browser, other] = await Promise.all([signIn(), signIn()])
    const attempts: Record<string, string>[] = [
      { 'X-CSRF-Token': other.csrf },
      { 'X-CSRF-Token': 'A'.repeat(43) },
      { 'X-CSRF-Token': '' },
      { 'X-CSRF-Token': browser.csrf, Origin: 'https://evil.example' },
      { 'X-CSRF-Token': browser.csrf, 'Sec-Fetch-Site': 'same-site' },
    ]
    for (const headers of attempts) {
      const res = await create(browser, headers)
      expect(res.status, JSON.stringify(headers)).toBe(403)
    }
  })

  it("accepts the session's own token", async () => {
    const browser = await signIn()
    const res = await create(browser, { 'X-CSRF-Token': browser.csrf })
    expect(res.status).toBe(201)
    const answer = await res.json<{ pushApplicationID: string }>()
    const deleted = await fetchApi(
      browser,
      'DELETE',
      `/rest/applications/${answer.pushApplicationID}`,
    )
    expect(deleted.status).toBe(204)
  })

  it('refuses a form post to the UI without the _csrf field', async () => {
    const browser = await signIn()
    const res = await request('POST', '/ui/act', {
      headers: { Cookie: cookieHeader(browser), Origin: ORIGIN },
      body: new URLSearchParams({
        _method: 'POST',
        _path: '/rest/applications',
        _next: '/ui/applications',
        name: 'no-csrf',
      }),
    })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('CSRF token')
  })

  it('refuses a UI post without a session by sending the person to sign in', async () => {
    const res = await request('POST', '/ui/act', {
      headers: { Origin: ORIGIN },
      body: new URLSearchParams({ _method: 'POST', _path: '/rest/applications', name: 'x' }),
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toMatch(/^\/ui\/signin/)
  })
})

describe('sign-out', () => {
  it('clears the cookie and needs the CSRF token', async () => {
    const browser = await signIn()
    const refused = await postForm(browser, '/ui/signout', { _csrf: '' })
    expect(refused.status).toBe(403)

    const res = await postForm(browser, '/ui/signout', {})
    const line = sessionCookieLine(res) ?? ''
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/ui/signin')
    expect(line).toMatch(/Max-Age=0/i)
    expect(browser.cookies.has('pg_session')).toBe(false)

    const after = await get(browser, '/ui/')
    expect(after.status).toBe(303)
    expect(after.headers.get('Location')).toMatch(/^\/ui\/signin/)
  })
})
