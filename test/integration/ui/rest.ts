/// <reference types="node" />
// The calls a browser test makes outside the browser, as an app or an operator would: the admin
// API with the bearer token, the registration API with a variant's Basic credentials, and the
// fake push service's control API.
import type { RunningWorker } from '../wrangler-dev'

/** Calls Pushgate; throws with the status and body unless it answers 2xx. */
export async function call(
  worker: RunningWorker,
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${worker.url}${path}`, {
    method,
    headers: {
      authorization,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

export const admin = (worker: RunningWorker, method: string, path: string, body?: unknown) =>
  call(worker, method, path, `Bearer ${worker.adminToken}`, body)

export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** Calls the fake push service's control API (test/fakes/webpush.ts). */
export async function fake(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`fake ${method} ${path}: ${res.status}`)
  return res.status === 204 ? undefined : ((await res.json()) as unknown)
}
