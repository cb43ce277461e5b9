/**
 * `POST /rest/sender`: a backend asks for one message to reach every matching device of its
 * application. The request is validated, sized against each targeted network, stored as a job
 * and queued as one plan message per variant; the answer never waits for the audience, whose
 * size it does not even count.
 */
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { newId } from '../auth/secrets'
import { requireSender, type SenderEnv } from '../auth/sender'
import { type ApplicationRow, variantsOf } from '../db/applications'
import { openDb } from '../db/client'
import { createJob, deleteJob, findJobByIdempotencyKey } from '../db/jobs'
import { enqueuer } from '../dispatch/consumer'
import type { PlanMessage } from '../dispatch/messages'
import { fcmReservedDataKeys } from '../networks/fcm/translate'
import { oversize } from '../push/limits'
import { SendRequest } from '../push/message'
import { ApiError } from './errors'
import { readJson } from './input'

const IdempotencyKey = z.string().min(1).max(255).optional()

export const senderRoutes = new Hono<SenderEnv>()

senderRoutes.use('*', requireSender)

senderRoutes.post('/', async (c) => {
  const idempotency = IdempotencyKey.safeParse(c.req.header('Idempotency-Key'))
  if (!idempotency.success) {
    throw new ApiError(400, 'Invalid Idempotency-Key', { 'Idempotency-Key': '1 to 255 characters' })
  }
  const request = await readJson(c, SendRequest)
  const id = await submitSend(c.env, c.var.application, request, {
    idempotencyKey: idempotency.data ?? null,
    ipAddress: c.req.header('CF-Connecting-IP') ?? null,
    clientIdentifier:
      c.req.header('aerogear-sender')?.slice(0, 255) ??
      c.req.header('User-Agent')?.slice(0, 255) ??
      null,
  })
  return accepted(c, id)
})

/** Who asked for a send, as stored beside the job. */
export type SendMeta = {
  idempotencyKey: string | null
  ipAddress: string | null
  clientIdentifier: string | null
}

/**
 * Checks a validated send request against the application's variants and the networks' limits,
 * stores the job and queues its plan messages; answers the push message id (the first job's,
 * for a repeated idempotency key). The sender API and the admin UI's send dialog both call it.
 */
export async function submitSend(
  env: Env,
  app: ApplicationRow,
  request: SendRequest,
  meta: SendMeta,
): Promise<string> {
  const db = openDb(env)
  const now = Date.now()
  const key = meta.idempotencyKey

  if (key !== null) {
    const first = await findJobByIdempotencyKey(db, app.id, key, now)
    if (first) return first
  }

  const all = await variantsOf(db, [app.id])
  const wanted = request.criteria?.variants
  const targeted = wanted ? all.filter((v) => wanted.includes(v.variantId)) : all
  if (wanted) {
    const unknown = wanted.filter((id) => !all.some((v) => v.variantId === id))
    if (unknown.length > 0) {
      throw new ApiError(400, 'Unknown variants', {
        'criteria.variants': `not variants of this application: ${unknown.join(', ')}`,
      })
    }
  }

  const jobId = newId()
  const options = { ttl: request.config?.ttl, pushMessageId: jobId }
  const tooLarge = oversize(
    targeted.map((v) => v.type),
    request.message,
    options,
  )
  if (Object.keys(tooLarge).length > 0) {
    throw new ApiError(400, 'The message does not fit a targeted network', tooLarge)
  }
  // FCM refuses these data keys with INVALID_ARGUMENT for every device: refuse them here.
  const reserved = targeted.some((v) => v.type === 'android')
    ? fcmReservedDataKeys(request.message)
    : []
  if (reserved.length > 0) {
    throw new ApiError(
      400,
      'user-data uses keys that FCM reserves',
      Object.fromEntries(reserved.map((k) => [`message.user-data.${k}`, 'reserved by FCM'])),
    )
  }

  const stored = await createJob(db, {
    id: jobId,
    applicationId: app.id,
    rawJsonMessage: JSON.stringify({
      alert: request.message.alert ?? null,
      criteria: request.criteria ?? {},
    }),
    payload: JSON.stringify({
      message: request.message,
      criteria: request.criteria ?? {},
      config: request.config ?? {},
    }),
    ipAddress: meta.ipAddress,
    clientIdentifier: meta.clientIdentifier,
    submitDate: now,
    variantIds: targeted.map((v) => v.id),
    idempotencyKey: key,
  })
  if (!stored.created) return stored.jobId

  const plans = targeted.map(
    (v): PlanMessage => ({ kind: 'plan', jobId, variantId: v.id, cursor: null }),
  )
  try {
    // In groups Queues accept (100 messages per sendBatch): an application may have more variants.
    await enqueuer(env)(plans)
  } catch (error) {
    // Without its plan messages the job would wait forever: take it back and say so.
    await deleteJob(db, jobId)
    console.error(JSON.stringify({ event: 'enqueue_failed', jobId, error: String(error) }))
    throw new ApiError(503, 'The send could not be queued; try again', undefined, {
      'Retry-After': '5',
    })
  }
  return jobId
}

function accepted(c: Context<SenderEnv>, id: string) {
  c.header('Location', `/rest/metrics/messages/${id}`)
  return c.json({ id }, 202)
}
