/**
 * Helpers for tests that drive the Worker through its public surface, inside workerd.
 */
import { exports } from 'cloudflare:workers'

export const ADMIN_TOKEN = 'test-admin-token'

export function call(
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string>; auth?: string | null } = {},
) {
  const headers: Record<string, string> = { ...init.headers }
  const auth = init.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : init.auth
  if (auth) headers.Authorization = auth
  let body: BodyInit | undefined
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
    headers['Content-Type'] ??= 'application/json'
  }
  return exports.default.fetch(
    new Request(`https://pushgate.test${path}`, { method, headers, body }),
  )
}

export const basic = (id: string, secret: string) => `Basic ${btoa(`${id}:${secret}`)}`
