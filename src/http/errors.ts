/**
 * The one error shape of the API: `{ message, details? }`. Handlers throw `ApiError` for expected
 * failures; anything else is a bug and becomes a bare 500 whose detail goes only to the log.
 */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export type Details = Record<string, string>

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: Details,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`)

export const badRequest = (message: string, details?: Details) =>
  new ApiError(400, message, details)

export function errorBody(message: string, details?: Details) {
  return details && Object.keys(details).length > 0 ? { message, details } : { message }
}

export function sendError(c: Context, err: ApiError) {
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value)
  return c.json(errorBody(err.message, err.details), err.status)
}
