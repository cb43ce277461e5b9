/**
 * Signing in and out of the admin UI, and the checks in front of every other UI route: a valid
 * session (else to the sign-in page), and on posts this session's CSRF token from our origin.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { safeEqual } from '../auth/secrets'
import type { ApiFetch, UiEnv } from './api'
import { Problem } from './components'
import { BarePage } from './layout'
import {
  CSRF_FIELD,
  CSRF_HEADER,
  clearSessionCookie,
  crossOrigin,
  csrfRefused,
  csrfToken,
  isSafeMethod,
  newSession,
  readSession,
  setSessionCookie,
  validCsrf,
} from './session'

type BareContext = Context<{ Bindings: Env }>

/** A path of the UI to go back to after signing in; anything else goes to the dashboard. */
export function localPath(value: string | undefined | null): string {
  if (!value || !/^\/ui(\/|$|\?)/.test(value) || value.startsWith('//')) return '/ui/'
  if (/[\\\s]/.test(value) || value.startsWith('/ui/signin')) return '/ui/'
  return value
}

function SigninPage(props: { next: string; error?: string }) {
  return (
    <BarePage title="Sign in">
      <p>
        Sign in with the admin token: the <code>ADMIN_TOKEN</code> secret, which{' '}
        <code>npm start</code> prints when it starts Pushgate.
      </p>
      {props.error ? <Problem id="signin-error" problem={{ message: props.error }} /> : null}
      <form method="post" action="/ui/signin" class="signin" aria-label="Sign in">
        <input type="hidden" name="next" value={props.next} />
        <div class="field">
          <label for="signin-token">Admin token</label>
          <input
            id="signin-token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
          />
        </div>
        <button type="submit" id="signin-submit">
          Sign in
        </button>
      </form>
    </BarePage>
  )
}

function bare(c: BareContext, page: Promise<string> | string, status: 200 | 401 | 503 = 200) {
  c.header('Cache-Control', 'no-store')
  return c.html(`<!DOCTYPE html>${page}`, status)
}

export async function showSignin(c: BareContext) {
  const next = localPath(c.req.query('next'))
  if (await readSession(c)) return c.redirect(next, 303)
  return bare(c, await (<SigninPage next={next} />).toString())
}

export async function signin(c: BareContext) {
  // A sign-in posted from another site would sign this browser in as whoever that site chose.
  if (crossOrigin(c)) throw csrfRefused()
  const form = await c.req.formData()
  const token = form.get('token')
  const next = localPath(String(form.get('next') ?? ''))
  const expected = c.env.ADMIN_TOKEN ?? ''
  if (expected === '' || !c.env.CREDENTIALS_KEY) {
    const error = 'This Worker has no ADMIN_TOKEN or CREDENTIALS_KEY set, so nobody can sign in.'
    return bare(c, await (<SigninPage next={next} error={error} />).toString(), 503)
  }
  const presented = typeof token === 'string' ? token.trim() : ''
  if (!(await safeEqual(presented, expected))) {
    const error = 'That is not the admin token. Check it and try again.'
    return bare(c, await (<SigninPage next={next} error={error} />).toString(), 401)
  }
  const { value } = await newSession(c.env, Date.now())
  setSessionCookie(c, value)
  return c.redirect(next, 303)
}

export function signout(c: BareContext) {
  clearSessionCookie(c)
  return c.redirect('/ui/signin', 303)
}

/** Whether the request wants JSON back (the client script's fetches) rather than a page. */
export function wantsJson(c: Context): boolean {
  const type = c.req.header('Content-Type') ?? ''
  const accept = c.req.header('Accept') ?? ''
  return (
    type.startsWith('application/json') || (accept.includes('json') && !accept.includes('html'))
  )
}

/**
 * Every UI route behind sign-in: the session (pages without one go to the sign-in page and
 * come back), its CSRF token for the pages, and the API the pages read through.
 */
export function requireSession(api: ApiFetch) {
  return createMiddleware<UiEnv>(async (c, next) => {
    const session = await readSession(c)
    if (!session) {
      if (wantsJson(c)) {
        return c.json({ message: 'Your session has ended: sign in again.' }, 401)
      }
      const url = new URL(c.req.url)
      const back = isSafeMethod(c.req.method) ? `${url.pathname}${url.search}` : '/ui/'
      return c.redirect(`/ui/signin?next=${encodeURIComponent(back)}`, 303)
    }
    c.set('session', session)
    c.set('csrf', await csrfToken(c.env, session))
    c.set('api', api)
    await next()
  })
}

/** Posts to the UI carry the CSRF token, in the header (fetch) or the `_csrf` field (forms). */
export const requireCsrf = createMiddleware<UiEnv>(async (c, next) => {
  if (isSafeMethod(c.req.method)) return next()
  let presented = c.req.header(CSRF_HEADER)
  const type = c.req.header('Content-Type') ?? ''
  if (
    presented === undefined &&
    /^(multipart\/form-data|application\/x-www-form-urlencoded)/.test(type)
  ) {
    const field = (await c.req.formData()).get(CSRF_FIELD)
    presented = typeof field === 'string' ? field : undefined
  }
  if (crossOrigin(c) || !(await validCsrf(c.env, c.var.session, presented))) throw csrfRefused()
  await next()
})
