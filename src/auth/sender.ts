/**
 * A backend's credential: HTTP Basic `pushApplicationID:masterSecret`. Only the SHA-256 of the
 * master secret is stored; the presented secret is hashed and compared in constant time, and an
 * unknown application costs the same comparison and gets the same 401 as a wrong secret.
 */
import { createMiddleware } from 'hono/factory'
import { type ApplicationRow, findApplication } from '../db/applications'
import { openDb } from '../db/client'
import { readBasic } from './basic'
import { safeEqual, sha256Hex } from './secrets'
import { unauthorized } from './unauthorized'

export type SenderEnv = { Bindings: Env; Variables: { application: ApplicationRow } }

export const requireSender = createMiddleware<SenderEnv>(async (c, next) => {
  const credentials = readBasic(c.req.header('Authorization'))
  if (!credentials) throw unauthorized('Basic')
  const app = await findApplication(openDb(c.env), credentials.id)
  const presented = await sha256Hex(credentials.secret)
  const matches = await safeEqual(presented, app?.masterSecretHash ?? '')
  if (!app || !matches) throw unauthorized('Basic')
  c.set('application', app)
  await next()
})
