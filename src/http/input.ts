/**
 * Reading request input through zod, once, at the edge. Malformed JSON, unknown fields and wrong
 * types become a 400 whose `details` name each field; handlers only ever see the parsed value.
 */
import type { Context } from 'hono'
import type { z } from 'zod'
import { ApiError, type Details } from './errors'

/** Turns zod issues into `{ "field.path": "what is wrong" }`. */
export function issueDetails(error: z.ZodError, prefix = ''): Details {
  const details: Details = {}
  for (const issue of error.issues) {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.')
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details[base ? `${base}.${key}` : key] = 'unknown field'
      continue
    }
    details[base || '(body)'] ??= issue.message
  }
  return details
}

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, message: string) {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new ApiError(400, message, issueDetails(parsed.error))
  return parsed.data as z.output<T>
}

/** The body as JSON, not yet validated: for bodies whose schema depends on the path. */
export async function readJsonValue(c: Context): Promise<unknown> {
  const text = await c.req.text()
  let value: unknown
  try {
    value = text.trim() === '' ? undefined : JSON.parse(text)
  } catch {
    throw new ApiError(400, 'Malformed JSON', { '(body)': 'the body is not valid JSON' })
  }
  if (value === undefined) {
    throw new ApiError(400, 'A JSON body is required', { '(body)': 'empty body' })
  }
  return value
}

export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  return parseOr400(schema, await readJsonValue(c), 'Invalid request body')
}

export function readQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  return parseOr400(schema, c.req.query(), 'Invalid query parameters')
}
