/**
 * `/rest/sys/info`: liveness (`ping`) and a health report that checks the database and the
 * queue binding, in the shape UPS monitoring expects. No authentication, no secrets.
 */
import { Hono } from 'hono'
import type { AppEnv } from './types'

type Check = {
  description: string
  test_status: 'ok' | 'warn' | 'crit'
  result: string
  runtime: number
}

async function timed(description: string, probe: () => Promise<string>): Promise<Check> {
  const started = Date.now()
  try {
    const result = await probe()
    return { description, test_status: 'ok', result, runtime: Date.now() - started }
  } catch {
    return {
      description,
      test_status: 'crit',
      result: 'unavailable',
      runtime: Date.now() - started,
    }
  }
}

export const systemRoutes = new Hono<AppEnv>()

systemRoutes.get('/ping', (c) => c.text('OK'))

systemRoutes.get('/health', async (c) => {
  const details = await Promise.all([
    timed('Database connection', async () => {
      await c.env.DB.prepare('SELECT 1').first()
      return 'connected'
    }),
    timed('Queue binding', async () => {
      if (typeof c.env.PUSH_QUEUE?.send !== 'function') throw new Error('missing')
      return 'bound'
    }),
  ])
  const status = details.some((d) => d.test_status === 'crit') ? 'crit' : 'ok'
  const summary = status === 'ok' ? 'Everything is ok' : 'A dependency is unavailable'
  return c.json({ status, summary, details }, status === 'ok' ? 200 : 503)
})
