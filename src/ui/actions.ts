/**
 * The UI's two posts besides sign-in and sign-out:
 *
 * - `POST /ui/act`: a form's API call, for browsers without JavaScript and for the answers that
 *   carry a one-time master secret. The form names the call (`_method`, `_path`), the page to
 *   go to after success (`_next`) and the page it came from (`_back`); its other fields become
 *   the JSON body (src/ui/form.ts). The call is made in process as the signed-in person, and
 *   the outcome travels to the next page in the flash cookie, a new master secret with it.
 * - `POST /ui/applications/{pushAppID}/send`: the send dialog. A browser cannot send through
 *   `POST /rest/sender` without the application's master secret, which is never shown twice;
 *   this endpoint takes the session instead and hands the same validated request to the same
 *   `submitSend` the sender API uses.
 */
import { z } from 'zod'
import { findApplication } from '../db/applications'
import { openDb } from '../db/client'
import { MASKED_SECRET } from '../http/admin/present'
import { ApiError, notFound } from '../http/errors'
import { parseOr400, readJsonValue } from '../http/input'
import { submitSend } from '../http/sender'
import { SendRequest } from '../push/message'
import { callApi, type UiContext } from './api'
import { localPath, wantsJson } from './auth'
import { type Flash, setFlash } from './flash'
import { type FormValue, formJson } from './form'

const API_PATH = /^\/rest\/applications(\/[A-Za-z0-9._~-]*)*$/

const Control = z.object({
  _method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE']),
  _path: z.string().regex(API_PATH, 'an admin API path'),
  _next: z.string(),
  _back: z.string().optional(),
  _notice: z.string().max(200).optional(),
})

/** Replaces `{field}` in `next` with that field of the API's answer. */
export function fillNext(next: string, answer: unknown): string {
  const fields = typeof answer === 'object' && answer !== null ? answer : {}
  return next.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = (fields as Record<string, unknown>)[key]
    return typeof value === 'string' ? encodeURIComponent(value) : ''
  })
}

async function readForm(c: UiContext) {
  const form = await c.req.formData()
  const entries: [string, FormValue][] = []
  form.forEach((value, name) => {
    entries.push([name, value])
  })
  const control = Object.fromEntries(entries.filter(([name]) => name.startsWith('_')))
  return { entries, control }
}

/** A master secret in an answer of the API, when it shows one (create and reset). */
function revealedSecret(answer: unknown) {
  const parsed = z
    .object({ masterSecret: z.string(), pushApplicationID: z.string() })
    .safeParse(answer)
  if (!parsed.success || parsed.data.masterSecret === MASKED_SECRET) return null
  return parsed.data
}

export async function act(c: UiContext) {
  const { entries, control } = await readForm(c)
  const parsed = Control.safeParse(control)
  if (!parsed.success || parsed.data._path.includes('..')) {
    throw new ApiError(400, 'This form does not name an API call the UI can make')
  }
  const { _method: method, _path: path, _next: next, _back: back, _notice: notice } = parsed.data
  const body = await formJson(entries)
  const answer = await callApi(c, method, path, method === 'DELETE' ? undefined : body)

  if (!answer.ok) {
    const flash: Flash = { error: answer.problem.message }
    if (answer.problem.details) flash.details = answer.problem.details
    await setFlash(c, c.var.session, flash)
    return c.redirect(localPath(back), 303)
  }
  const flash: Flash = { notice: notice ?? 'Done.' }
  const secret = revealedSecret(answer.body)
  if (secret) {
    flash.masterSecret = secret.masterSecret
    flash.pushApplicationID = secret.pushApplicationID
  }
  await setFlash(c, c.var.session, flash)
  return c.redirect(localPath(fillNext(next, answer.body)), 303)
}

const IdempotencyKey = z.string().min(1).max(255).optional()

const SendControl = z.looseObject({
  _next: z.string().optional(),
  _back: z.string().optional(),
  _idempotency: z.string().optional(),
})

export async function send(c: UiContext) {
  const db = openDb(c.env)
  const app = await findApplication(db, c.req.param('pushAppID') ?? '')
  if (!app) throw notFound('Application')

  const json = wantsJson(c)
  let value: unknown
  let control: z.infer<typeof SendControl> = {}
  if (json) {
    value = await readJsonValue(c)
  } else {
    const form = await readForm(c)
    value = await formJson(form.entries)
    control = SendControl.catch({}).parse(form.control)
  }
  const key = IdempotencyKey.safeParse(c.req.header('Idempotency-Key') ?? control._idempotency)
  if (!key.success) {
    throw new ApiError(400, 'Invalid Idempotency-Key', { 'Idempotency-Key': '1 to 255 characters' })
  }
  const idempotencyKey = key.data ?? null
  const meta = {
    idempotencyKey,
    ipAddress: c.req.header('CF-Connecting-IP') ?? null,
    clientIdentifier: 'pushgate-admin-ui',
  }

  const submit = () =>
    submitSend(c.env, app, parseOr400(SendRequest, value, 'Invalid message'), meta)

  if (json) {
    const id = await submit()
    c.header('Location', `/rest/metrics/messages/${id}`)
    return c.json({ id }, 202)
  }
  // A plain form: the outcome goes to the next page in the flash, as /ui/act does.
  try {
    const id = await submit()
    await setFlash(c, c.var.session, { notice: 'Message sent; its progress is below.' })
    const next = control._next ?? `/ui/applications/${app.pushApplicationId}/activity`
    return c.redirect(localPath(fillNext(next, { id })), 303)
  } catch (error) {
    if (!(error instanceof ApiError)) throw error
    const flash: Flash = { error: error.message }
    if (error.details) flash.details = error.details
    await setFlash(c, c.var.session, flash)
    return c.redirect(localPath(control._back), 303)
  }
}
