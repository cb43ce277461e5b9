/**
 * The `fetch` transport: each notification is one `fetch()`. On Cloudflare's network that reaches
 * Apple over HTTP/2; workerd run locally speaks HTTP/1.1, which Apple refuses, so locally it
 * serves only `http://` fakes (DESIGN.md, Networks).
 */
import type { ApnsTransport } from './transport'

/** Workers allow six simultaneous open connections per invocation; more would queue in fetch. */
export const FETCH_MAX_IN_FLIGHT = 6

/** A transport to `endpoint` (an origin, e.g. https://api.push.apple.com) through `fetcher`. */
export function fetchTransport(endpoint: string, fetcher: typeof fetch = fetch): ApnsTransport {
  const origin = endpoint.replace(/\/+$/, '')
  return {
    maxInFlight: FETCH_MAX_IN_FLIGHT,
    async send(request, { timeoutMs }) {
      try {
        const response = await fetcher(origin + request.path, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          // APNs never redirects; following one would post the notification elsewhere.
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        })
        const body = await response.text()
        const headers = Object.fromEntries(response.headers.entries())
        return { kind: 'response', status: response.status, headers, body }
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError'
        return {
          kind: 'transport',
          retryable: true,
          reason: timedOut ? 'timeout' : 'network_error',
        }
      }
    },
    async close() {},
  }
}
