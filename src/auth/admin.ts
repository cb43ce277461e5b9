/**
 * The operator's credential: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
 * There is no mode without it: a Worker deployed without ADMIN_TOKEN refuses every admin call.
 */
import { createMiddleware } from 'hono/factory'
import { safeEqual } from './secrets'
import { unauthorized } from './unauthorized'

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '')
  const expected = c.env.ADMIN_TOKEN ?? ''
  if (expected === '') {
    console.error(JSON.stringify({ event: 'admin_token_missing' }))
    throw unauthorized('Bearer')
  }
  if (!match?.[1] || !(await safeEqual(match[1], expected))) throw unauthorized('Bearer')
  await next()
})
