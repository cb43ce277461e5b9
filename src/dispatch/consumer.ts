/**
 * The queue consumer. The send pipeline's plan and deliver messages arrive here; until it lands
 * no message kind is known, so every message is retried rather than acknowledged: it reaches the
 * dead-letter queue after the configured retries instead of being lost. The dead-letter queue's
 * own consumer records what reached it and acknowledges it.
 */
export const DEAD_LETTER_QUEUE = 'pushgate-push-dlq'

export async function consumeQueue(batch: MessageBatch<unknown>, _env: Env) {
  if (batch.queue === DEAD_LETTER_QUEUE) {
    console.error(JSON.stringify({ event: 'dead_letter', count: batch.messages.length }))
    batch.ackAll()
    return
  }
  console.error(JSON.stringify({ event: 'unknown_message', count: batch.messages.length }))
  batch.retryAll()
}
