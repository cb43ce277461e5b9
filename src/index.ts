/**
 * The Worker's entry points, wired and nothing else: HTTP, the queue consumer, the daily cron.
 */
import { runRetention } from './cron/retention'
import { consumeQueue } from './dispatch/consumer'
import { app } from './http/app'

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
  scheduled: async (controller, env, ctx) => {
    ctx.waitUntil(runRetention(env, controller.scheduledTime))
  },
} satisfies ExportedHandler<Env>
