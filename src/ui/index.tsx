/**
 * The admin UI, served by the Worker: server-rendered pages (hono/jsx) under `/ui`, a small
 * client script that enhances them, and the chart library. It is an app of its own, mounted by
 * src/http/app.ts, because it answers people rather than API clients: HTML error pages,
 * redirects to sign in, and its own security headers. It reads and writes through the admin
 * API in process (api.ts), as the browser does with fetch.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { ApiError, errorBody } from '../http/errors'
import { act, send } from './actions'
import type { ApiFetch, UiContext, UiEnv } from './api'
import { UiFailure } from './api'
import { serveAsset } from './assets'
import { requireCsrf, requireSession, showSignin, signin, signout, wantsJson } from './auth'
import { Problem } from './components'
import { BarePage } from './layout'
import { activityTab } from './pages/activity'
import { applications } from './pages/applications'
import { dashboard } from './pages/dashboard'
import { guide, sendPage } from './pages/guide'
import { installationsTab } from './pages/installations'
import { senderTab } from './pages/sender'
import { variantsTab } from './pages/variants'
import { html, render } from './render'

/** Forms carry at most a service-account JSON or a .p8 key: a few kB. */
const UI_BODY_MAX_BYTES = 64 * 1024

/**
 * No inline script or style anywhere: scripts and stylesheets come only from this origin, the
 * page cannot be framed, and forms post only here.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

function securityHeaders(headers: Headers) {
  headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  headers.set('X-Content-Type-Options', 'nosniff')
  headers.set('X-Frame-Options', 'DENY')
  headers.set('Referrer-Policy', 'same-origin')
  headers.set('Cross-Origin-Opener-Policy', 'same-origin')
}

const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 429, 500, 502, 503] as const
type Status = (typeof ERROR_STATUSES)[number]

function statusOf(status: number): Status {
  return ERROR_STATUSES.find((s) => s === status) ?? 500
}

async function errorPage(
  c: UiContext,
  status: Status,
  problem: { message: string; details?: Record<string, string> },
) {
  if (wantsJson(c)) return c.json(errorBody(problem.message, problem.details), status)
  const body = (
    <>
      <Problem problem={problem} id="page-error" />
      <p>
        <a href="/ui/">Back to the dashboard</a>
      </p>
    </>
  )
  if (c.var.session) {
    return render(
      c,
      { title: status === 404 ? 'Not found' : 'Something went wrong', section: 'none', status },
      body,
    )
  }
  return html(
    c,
    await (<BarePage title="Something went wrong">{body}</BarePage>).toString(),
    status,
  )
}

/** The UI app; `api` is the Worker's router, which the pages call in process. */
export function adminUi(api: ApiFetch) {
  const ui = new Hono<UiEnv>({ strict: false })

  ui.use('*', async (c, next) => {
    await next()
    securityHeaders(c.res.headers)
  })
  ui.use(
    '/ui/*',
    bodyLimit({
      maxSize: UI_BODY_MAX_BYTES,
      onError: () => {
        throw new ApiError(413, `The form is larger than ${UI_BODY_MAX_BYTES / 1024} kB`)
      },
    }),
  )

  ui.get('/', (c) => c.redirect('/ui/', 302))
  ui.get('/ui/assets/:name', serveAsset)
  ui.get('/ui/signin', showSignin)
  ui.post('/ui/signin', signin)

  // Everything below needs a session; posts also need its CSRF token.
  ui.use('/ui/*', requireSession(api))
  ui.use('/ui/*', requireCsrf)
  ui.post('/ui/signout', signout)
  ui.post('/ui/act', act)
  ui.post('/ui/applications/:pushAppID/send', send)

  ui.get('/ui', dashboard)
  ui.get('/ui/applications', applications)
  ui.get('/ui/applications/:pushAppID', variantsTab)
  ui.get('/ui/applications/:pushAppID/guide', guide)
  ui.get('/ui/applications/:pushAppID/installations', installationsTab)
  ui.get('/ui/applications/:pushAppID/sender', senderTab)
  ui.get('/ui/applications/:pushAppID/activity', activityTab)
  ui.get('/ui/applications/:pushAppID/send', sendPage)

  ui.notFound((c) => errorPage(c, 404, { message: 'There is no page at this address.' }))

  ui.onError((err, c) => {
    if (err instanceof UiFailure) return errorPage(c, statusOf(err.status), err.problem)
    if (err instanceof ApiError) {
      for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value)
      const problem = { message: err.message, ...(err.details && { details: err.details }) }
      return errorPage(c, statusOf(err.status), problem)
    }
    console.error(
      JSON.stringify({ event: 'ui_error', path: c.req.routePath, error: String(err?.name) }),
    )
    return errorPage(c, 500, { message: 'Something went wrong on our side; try again.' })
  })

  return ui
}
