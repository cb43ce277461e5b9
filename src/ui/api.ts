/**
 * The UI's server side reads and writes through the same JSON API as the browser, in process:
 * each call is a Request to the Worker's own router carrying the person's session cookie (and
 * the session's CSRF token when it changes state), so it passes the same admin check, the same
 * validation and the same presentation as any other client's.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import type { Session } from './session'
import { CSRF_HEADER, isSafeMethod } from './session'

/** The Worker's router, as the UI calls it. */
export type ApiFetch = (
  request: Request,
  env: Env,
  ctx: Context['executionCtx'] | undefined,
) => Response | Promise<Response>

export type UiEnv = {
  Bindings: Env
  Variables: { session: Session; csrf: string; api: ApiFetch }
}

export type UiContext = Context<UiEnv>

/** The API's error shape: `{ message, details? }`. */
export const ApiProblem = z.object({
  message: z.string(),
  details: z.record(z.string(), z.string()).optional(),
})

export type ApiProblem = z.infer<typeof ApiProblem>

export type ApiAnswer =
  | { ok: true; status: number; headers: Headers; body: unknown }
  | { ok: false; status: number; headers: Headers; problem: ApiProblem }

/** Reads an answer's body: JSON when it is JSON, and the API's error shape for a failure. */
export async function readAnswer(res: Response): Promise<ApiAnswer> {
  const text = await res.text()
  let body: unknown = null
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    body = text
  }
  if (res.ok) return { ok: true, status: res.status, headers: res.headers, body }
  const problem = ApiProblem.safeParse(body)
  return {
    ok: false,
    status: res.status,
    headers: res.headers,
    problem: problem.success ? problem.data : { message: `HTTP ${res.status}` },
  }
}

function executionContext(c: Context): Context['executionCtx'] | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined
  }
}

/** Calls the admin API as the signed-in person. `path` starts with `/rest/`. */
export async function callApi(
  c: UiContext,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer> {
  const headers = new Headers({ Accept: 'application/json' })
  const cookie = c.req.header('Cookie')
  if (cookie !== undefined) headers.set('Cookie', cookie)
  if (!isSafeMethod(method)) headers.set(CSRF_HEADER, c.var.csrf)
  if (body !== undefined) headers.set('Content-Type', 'application/json')
  const request = new Request(new URL(path, c.req.url), {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  })
  return readAnswer(await c.var.api(request, c.env, executionContext(c)))
}

/** A GET that must succeed; a failure becomes the page's error (see errors.tsx). */
export async function getApi<T extends z.ZodType>(c: UiContext, path: string, schema: T) {
  const answer = await callApi(c, 'GET', path)
  if (!answer.ok) throw new UiFailure(answer.status, answer.problem)
  const parsed = schema.safeParse(answer.body)
  if (!parsed.success) {
    throw new Error(`The API answered ${path} in an unexpected shape: ${parsed.error.message}`)
  }
  return { body: parsed.data as z.output<T>, headers: answer.headers }
}

/** An API failure that a page cannot do without: rendered as an error page with its words. */
export class UiFailure extends Error {
  constructor(
    readonly status: number,
    readonly problem: ApiProblem,
  ) {
    super(problem.message)
  }
}
