/**
 * Runs the send pipeline inside a test, deterministically: requests go through the Hono app with
 * an env whose `PUSH_QUEUE` records what is sent, and `drain()` feeds the recorded messages to the
 * real queue consumer batch by batch, the way Queues would (wrangler.toml: batches of 10,
 * `max_retries = 5`, then `pushgate-push-dlq`), until nothing is left. Delays are not waited for;
 * they are recorded so that tests can assert them.
 *
 * After every consumer run the per-(job, variant) counters of the jobs this pipeline queued are
 * checked against the invariant of API.md, `receivers = delivered + failed + invalidTokens +
 * pending` with none negative. A violation, or a queue that does not settle within the step
 * budget, fails the test with what was left.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { inject } from 'vitest'
import { consumeQueue, DEAD_LETTER_QUEUE } from '../../src/dispatch/consumer'
import { app } from '../../src/http/app'

export const PUSH_QUEUE = 'pushgate-push'
export { DEAD_LETTER_QUEUE }

/** wrangler.toml: `max_batch_size = 10`, `max_retries = 5` for the push queue. */
const BATCH_SIZE = 10
const PUSH_MAX_RETRIES = 5
/** The dead-letter queue's consumer sets no max_retries: Queues' default is 3, then dropped. */
const DLQ_MAX_RETRIES = 3

/** What the Worker handed to `PUSH_QUEUE.send` or `sendBatch`. */
export type Sent = { body: unknown; delaySeconds: number | undefined }

/** A message waiting in one of the two queues. */
export type Queued = {
  id: string
  queue: string
  body: unknown
  /** 1 on the first delivery, as `Message.attempts`. */
  attempts: number
  /** The delay it was sent or retried with; the driver does not wait for it. */
  delaySeconds: number | undefined
}

/** One consumer run: the batch it got and what it did with each message. */
export type Step = {
  queue: string
  messages: Queued[]
  acked: string[]
  retried: { id: string; delaySeconds: number | undefined }[]
  /** Messages given to PUSH_QUEUE during the run. */
  sent: Sent[]
}

export type CounterRow = {
  job_id: string
  variant_id: string
  receivers: number
  delivered: number
  failed: number
  invalid_tokens: number
  pending: number
  planned: number
  reason: string | null
}

export type Pipeline = ReturnType<typeof createPipeline>

export function createPipeline(overrides: { DB?: D1Database } = {}) {
  const sent: Sent[] = []
  const steps: Step[] = []
  const deadLettered: Queued[] = []
  const dropped: Queued[] = []
  let backlog: Queued[] = []
  let nextId = 0

  const enqueue = (queue: string, body: unknown, delaySeconds: number | undefined) => {
    sent.push({ body, delaySeconds })
    nextId += 1
    backlog.push({ id: `m${nextId}`, queue, body, attempts: 1, delaySeconds })
  }

  const pushQueue = {
    async send(body: unknown, options?: QueueSendOptions) {
      enqueue(PUSH_QUEUE, body, options?.delaySeconds)
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
      const list = [...messages]
      // Queues' own limits: at most 100 messages and 256 KB per call, 128 KB per message.
      if (list.length > 100) throw new Error(`sendBatch of ${list.length} messages (limit 100)`)
      const bytes = list.reduce((n, m) => n + JSON.stringify(m.body).length, 0)
      if (bytes > 256 * 1024) throw new Error(`sendBatch of ${bytes} bytes (limit 256 KB)`)
      for (const m of list) {
        const size = JSON.stringify(m.body).length
        if (size > 128 * 1024) throw new Error(`a message of ${size} bytes (limit 128 KB)`)
        enqueue(PUSH_QUEUE, m.body, m.delaySeconds ?? options?.delaySeconds)
      }
    },
  }

  const testEnv: Env = {
    ...env,
    PUSH_QUEUE: pushQueue as unknown as Queue,
    ALLOW_INSECURE_ENDPOINTS: 'true',
    FCM_ENDPOINT: inject('fcmUrl'),
    ...overrides,
  }

  /** A request through the Hono app with the test env. */
  function request(path: string, init: RequestInit = {}) {
    return app.request(path, init, testEnv)
  }

  /** Removes and returns the waiting messages `pick` selects (default: all of them). */
  function take(pick: (m: Queued) => boolean = () => true): Queued[] {
    const taken = backlog.filter(pick)
    backlog = backlog.filter((m) => !pick(m))
    return taken
  }

  /** Retry delays the consumer asked for, by message id: the test batch does not keep them. */
  const retryDelays = new Map<string, number | undefined>()

  /** Builds a batch as Queues would hand it to the consumer. */
  function batchOf(queue: string, messages: Queued[]) {
    const batch = createMessageBatch(
      queue,
      messages.map((m) => ({
        id: m.id,
        timestamp: Date.now(),
        attempts: m.attempts,
        body: m.body,
      })),
    )
    for (const message of batch.messages) {
      const retry = message.retry.bind(message)
      Object.defineProperty(message, 'retry', {
        value: (options?: QueueRetryOptions) => {
          retryDelays.set(message.id, options?.delaySeconds)
          retry(options)
        },
      })
    }
    return batch
  }

  /**
   * Gives one batch to the consumer and routes its messages like Queues: acked ones are gone,
   * retried ones come back with attempts + 1 or go to the dead-letter queue after the last retry.
   * A built batch may be passed again to simulate a redelivery of the very same batch.
   */
  async function consume(messages: Queued[], batch = batchOf(messages[0]?.queue ?? '', messages)) {
    const queue = batch.queue
    const before = sent.length
    const ctx = createExecutionContext()
    let threw = false
    try {
      await consumeQueue(batch, testEnv)
    } catch {
      threw = true
    }
    const result = await getQueueResult(batch, ctx)
    const retries = new Map(
      result.retryMessages.map((r) => [r.msgId, r.delaySeconds ?? retryDelays.get(r.msgId)]),
    )
    const step: Step = {
      queue,
      messages,
      acked: [],
      retried: [],
      sent: sent.slice(before),
    }
    for (const m of messages) {
      const explicitlyAcked = result.explicitAcks.includes(m.id)
      const retry =
        !explicitlyAcked &&
        (retries.has(m.id) || result.retryBatch.retry || threw || result.outcome !== 'ok')
      if (!retry) {
        step.acked.push(m.id)
        continue
      }
      const delaySeconds = retries.get(m.id) ?? result.retryBatch.delaySeconds
      step.retried.push({ id: m.id, delaySeconds })
      const maxRetries = queue === DEAD_LETTER_QUEUE ? DLQ_MAX_RETRIES : PUSH_MAX_RETRIES
      if (m.attempts <= maxRetries) {
        backlog.push({ ...m, attempts: m.attempts + 1, delaySeconds })
      } else if (queue === DEAD_LETTER_QUEUE) {
        dropped.push(m)
      } else {
        deadLettered.push(m)
        nextId += 1
        backlog.push({ ...m, id: `m${nextId}`, queue: DEAD_LETTER_QUEUE, attempts: 1 })
      }
    }
    steps.push(step)
    return step
  }

  /** The jobs this pipeline has queued messages for. */
  function jobIds(): string[] {
    const ids = new Set<string>()
    for (const { body } of sent) {
      const jobId = (body as { jobId?: unknown }).jobId
      if (typeof jobId === 'string') ids.add(jobId)
    }
    return [...ids]
  }

  /** Runs the oldest waiting batch of one queue (the push queue first); null when both are empty. */
  async function step(): Promise<Step | null> {
    const queue = backlog.some((m) => m.queue === PUSH_QUEUE) ? PUSH_QUEUE : DEAD_LETTER_QUEUE
    const waiting = backlog.filter((m) => m.queue === queue).slice(0, BATCH_SIZE)
    if (waiting.length === 0) return null
    const ids = new Set(waiting.map((m) => m.id))
    take((m) => ids.has(m.id))
    return consume(waiting)
  }

  /**
   * Runs the consumer until both queues are empty, checking the counters' invariant after every
   * run. Throws when it has not settled after `maxSteps` runs.
   */
  async function drain(opts: { maxSteps?: number; afterStep?: (s: Step) => unknown } = {}) {
    const maxSteps = opts.maxSteps ?? 500
    const ran: Step[] = []
    for (let i = 0; i < maxSteps; i++) {
      const s = await step()
      if (!s) return ran
      ran.push(s)
      await expectInvariant(jobIds())
      await opts.afterStep?.(s)
    }
    const left = backlog.map((m) => `${m.queue} ${JSON.stringify(m.body).slice(0, 120)}`)
    throw new Error(
      `the pipeline did not settle after ${maxSteps} consumer runs; still queued:\n${left.join('\n')}`,
    )
  }

  return {
    env: testEnv,
    request,
    /** Everything given to PUSH_QUEUE, in order. */
    sent,
    steps,
    /** Messages moved to the dead-letter queue after their last retry. */
    deadLettered,
    /** Dead-letter messages dropped after their own retries. */
    dropped,
    backlog: () => [...backlog],
    take,
    batchOf,
    consume,
    step,
    drain,
    jobIds,
  }
}

/** The counter rows of these jobs, straight from D1. */
export async function counterRows(jobIds: string[]): Promise<CounterRow[]> {
  const rows: CounterRow[] = []
  for (let i = 0; i < jobIds.length; i += 90) {
    const ids = jobIds.slice(i, i + 90)
    const query = env.DB.prepare(
      `SELECT * FROM job_variants WHERE job_id IN (${ids.map(() => '?').join(', ')})`,
    ).bind(...ids)
    rows.push(...(await query.all<CounterRow>()).results)
  }
  return rows
}

/** Rows that break `receivers = delivered + failed + invalidTokens + pending` or go negative. */
export async function invariantViolations(jobIds: string[]): Promise<CounterRow[]> {
  return (await counterRows(jobIds)).filter((r) => {
    const counts = [r.receivers, r.delivered, r.failed, r.invalid_tokens, r.pending]
    const sum = r.delivered + r.failed + r.invalid_tokens + r.pending
    return r.receivers !== sum || counts.some((n) => n < 0)
  })
}

export async function expectInvariant(jobIds: string[]) {
  const broken = await invariantViolations(jobIds)
  if (broken.length > 0) {
    throw new Error(`counters break the invariant: ${JSON.stringify(broken)}`)
  }
}

/** A statement as the wrapper of `faultyD1` saw it prepared and bound. */
export type SeenStatement = { sql: string; params: unknown[] }

/**
 * The D1 binding with injected outages: a `batch()` whose statements `fails` picks throws like a
 * D1 error and writes nothing, as a failed transaction would. Everything else goes through.
 */
export function faultyD1(
  db: D1Database,
  fails: (statements: SeenStatement[]) => boolean,
): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>()
  const seen = new WeakMap<object, SeenStatement>()
  const wrap = (stmt: D1PreparedStatement, sql: string, params: unknown[]) => {
    const proxy = new Proxy(stmt, {
      get(target, key) {
        if (key === 'bind') {
          return (...args: unknown[]) => wrap(target.bind(...args), sql, args)
        }
        const value = Reflect.get(target, key, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    real.set(proxy, stmt)
    seen.set(proxy, { sql, params })
    return proxy
  }
  return new Proxy(db, {
    get(target, key) {
      if (key === 'prepare') return (sql: string) => wrap(target.prepare(sql), sql, [])
      if (key === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          if (fails(statements.map((s) => seen.get(s) ?? { sql: '', params: [] }))) {
            throw new Error('D1_ERROR: injected failure')
          }
          return target.batch(statements.map((s) => real.get(s) ?? s))
        }
      }
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
