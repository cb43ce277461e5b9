/**
 * The HTTP surface: routes by audience under `/rest`, one error shape, one body limit. Unknown
 * errors become a bare 500 whose detail goes to the log only.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { mount } from 'hono/mount'
import { requireAdmin } from '../auth/admin'
import { adminUi } from '../ui'
import { applicationRoutes } from './admin/applications'
import { exportRoutes, installationRoutes } from './admin/installations'
import { variantRoutes } from './admin/variants'
import { ApiError, errorBody, sendError } from './errors'
import { metricsRoutes } from './metrics'
import { serveOpenApi } from './openapi'
import { IMPORT_MAX_BYTES, registryRoutes } from './registry'
import { senderRoutes } from './sender'
import { systemRoutes } from './system'
import type { AppEnv } from './types'

/** Every JSON body of the API fits in this; the device importer has its own, larger limit. */
export const BODY_MAX_BYTES = 64 * 1024

// One limiter per size, built once: the device importer takes a larger body than the rest.
const limitTo = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, `The body is larger than ${maxSize} bytes`)
    },
  })
const apiBodyLimit = limitTo(BODY_MAX_BYTES)
const importBodyLimit = limitTo(IMPORT_MAX_BYTES)

// Not strict: UPS clients ask for `/rest/export/{id}/installations/` with a trailing slash.
export const app = new Hono<AppEnv>({ strict: false })

app.use('/rest/*', (c, next) =>
  c.req.path.startsWith('/rest/registry/device/importer')
    ? importBodyLimit(c, next)
    : apiBodyLimit(c, next),
)

// The contract itself: no auth, it holds no secret (outside /rest, so no body limit either).
app.get('/openapi.json', serveOpenApi)
app.route('/rest/sys/info', systemRoutes)
app.route('/rest/registry/device', registryRoutes)
app.route('/rest/sender', senderRoutes)

app.use('/rest/applications/*', requireAdmin)
app.use('/rest/applications', requireAdmin)
app.use('/rest/export/*', requireAdmin)
app.use('/rest/metrics/*', requireAdmin)
app.route('/rest/applications', applicationRoutes)
app.route('/rest/applications', installationRoutes)
app.route('/rest/applications', variantRoutes)
app.route('/rest/export', exportRoutes)
app.route('/rest/metrics', metricsRoutes)

// The admin UI is an app of its own (HTML for people, its own errors and headers), mounted rather
// than routed: it stays out of app.routes, which /openapi.json describes. It calls this router.
const toUi = mount(adminUi((request, env, ctx) => app.fetch(request, env, ctx)).fetch, {
  replaceRequest: false,
})
app.all('/', toUi)
app.all('/ui/*', toUi)

app.notFound((c) => c.json(errorBody('Not found'), 404))

app.onError((err, c) => {
  if (err instanceof ApiError) return sendError(c, err)
  console.error(
    JSON.stringify({ event: 'unhandled_error', path: c.req.routePath, error: String(err?.name) }),
  )
  return c.json(errorBody('Internal server error'), 500)
})
