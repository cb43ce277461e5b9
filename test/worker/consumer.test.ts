import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'

const message = (id: string, body: unknown) => ({ id, timestamp: Date.now(), attempts: 1, body })

describe('the queue consumer', () => {
  it('retries a message it cannot read, so that it reaches the dead-letter queue, not the void', async () => {
    const batch = createMessageBatch('pushgate-push', [message('m1', { kind: 'unknown' })])
    const ctx = createExecutionContext()
    await worker.queue(batch, env)
    const result = await getQueueResult(batch, ctx)
    expect(result.explicitAcks).toEqual([])
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['m1'])
  })

  it('acknowledges an unreadable message once it is in the dead-letter queue', async () => {
    const batch = createMessageBatch('pushgate-push-dlq', [message('m2', { kind: 'unknown' })])
    const ctx = createExecutionContext()
    await worker.queue(batch, env)
    const result = await getQueueResult(batch, ctx)
    expect(result.explicitAcks).toEqual(['m2'])
    expect(result.retryMessages).toEqual([])
  })
})
