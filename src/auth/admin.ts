/**
 * The operator's credential: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
 * There is no mode without it: a Worker deployed without ADMIN_TOKEN refuses every admin call.
 * Without an Authorization header, the admin UI's session cookie counts instead, with its CSRF
 * token on state-changing requests (src/ui/session.ts).
 */
import { createMiddleware } from 'hono/factory'
import { sessionAdmin } from '../ui/session'
import { safeEqual } from './secrets'
import { unauthorized } from './unauthorized'

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '')
  const expected = c.env.ADMIN_TOKEN ?? ''
  if (expected === '') {
    console.error(JSON.stringify({ event: 'admin_token_missing' }))
    throw unauthorized('Bearer')
  }
  if (c.req.header('Authorization') === undefined && (await sessionAdmin(c))) return next()
  if (!match?.[1] || !(await safeEqual(match[1], expected))) throw unauthorized('Bearer')
  await next()
})
