/**
 * The queue consumer: plan and deliver messages of the send pipeline, each acknowledged or
 * retried on its own, never as a whole batch. A message that throws is retried by Queues and,
 * after the configured retries, lands in the dead-letter queue, whose consumer closes it: a
 * deliver batch counts as failed, an abandoned plan closes its variant. Nothing is dropped
 * silently.
 */
import { readConfig } from '../config'
import { openDb } from '../db/client'
import { abandonPlan } from '../db/pipeline'
import { sharedTokens } from '../db/tokens'
import type { AdapterContext } from '../networks/adapter'
import { H2Pool } from '../networks/apns/h2-transport'
import { adapterFor } from './adapters'
import { closeDeadBatch, deliver } from './deliver'
import { QueueMessage } from './messages'
import { plan } from './plan'

export const DEAD_LETTER_QUEUE = 'pushgate-push-dlq'

/** A consumer invocation may run 15 minutes; messages not started by this point wait for the next. */
const INVOCATION_BUDGET_MS = 10 * 60 * 1000

/** Queues take at most 100 messages and 256 KB per sendBatch. */
const SEND_BATCH_MESSAGES = 100
const SEND_BATCH_BYTES = 200 * 1024

export function enqueuer(env: Env) {
  return async (messages: QueueMessage[]) => {
    let group: { body: QueueMessage }[] = []
    let bytes = 0
    const flush = async () => {
      if (group.length > 0) await env.PUSH_QUEUE.sendBatch(group)
      group = []
      bytes = 0
    }
    for (const body of messages) {
      const size = JSON.stringify(body).length
      if (group.length === SEND_BATCH_MESSAGES || bytes + size > SEND_BATCH_BYTES) await flush()
      group.push({ body })
      bytes += size
    }
    await flush()
  }
}

export async function consumeQueue(batch: MessageBatch<unknown>, env: Env) {
  const config = readConfig(env)
  const now = () => Date.now()
  const context: AdapterContext = {
    now,
    fetch: (input, init) => fetch(input, init),
    sharedToken: sharedTokens(env, openDb(env), now),
  }
  const enqueue = enqueuer(env)
  const deadLetters = batch.queue === DEAD_LETTER_QUEUE
  const resources = { h2: new H2Pool() }

  const handle = async (message: QueueMessage) => {
    if (deadLetters) {
      if (message.kind === 'deliver') await closeDeadBatch(message, env, now())
      else
        await abandonPlan(openDb(env), message.jobId, message.variantId, 'planning_failed', now())
      return
    }
    if (message.kind === 'plan') return plan(message, env, enqueue, now)
    return deliver(message, env, {
      now,
      random: Math.random,
      context,
      adapterFor: (variant) => adapterFor(env, config, variant, resources),
      retryLater: async (retry, delaySeconds) => {
        await env.PUSH_QUEUE.send(retry, { delaySeconds })
      },
    })
  }

  // One message after another: each deliver batch already keeps six requests in flight, the
  // Workers limit of open connections per invocation, which concurrent batches would exceed
  // (the excess would wait inside fetch while their timeouts run). Throughput comes from
  // Queues running many consumer invocations at once.
  const started = Date.now()
  try {
    for (const m of batch.messages) {
      if (Date.now() - started > INVOCATION_BUDGET_MS) {
        // Slow networks (each request may take its full timeout) must not carry the invocation
        // past the consumer's wall-clock limit, which would redeliver every message of the batch.
        m.retry()
        continue
      }
      const parsed = QueueMessage.safeParse(m.body)
      if (!parsed.success) {
        console.error(JSON.stringify({ event: 'unknown_message', queue: batch.queue }))
        // Nothing can ever process it; in the dead-letter queue it ends here, logged.
        if (deadLetters) m.ack()
        else m.retry()
        continue
      }
      try {
        await handle(parsed.data)
        m.ack()
      } catch (error) {
        console.error(
          JSON.stringify({
            event: 'message_failed',
            kind: parsed.data.kind,
            attempts: m.attempts,
            error: error instanceof Error ? error.name : 'unknown',
          }),
        )
        m.retry({ delaySeconds: Math.min(300, 5 * 2 ** Math.min(m.attempts, 6)) })
      }
    }
  } finally {
    await resources.h2.close()
  }
}
