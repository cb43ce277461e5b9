// The HTTP semantics of HTTP/2 messages (RFC 9113 section 8), as pure functions: the header list
// a request is sent as, and the checks that make a received header block a well-formed response.

import type { HeaderField } from './hpack'

export type H2Request = {
  method: string
  /** Path and query, starting with `/`. */
  path: string
  /** `host[:port]`; defaults to the connection's (openH2 sets it from the URL). */
  authority?: string
  /** Defaults to the connection's, else `https`. */
  scheme?: 'https' | 'http'
  /** Names are sent lower-cased. Pseudo-headers and connection-specific headers are refused. */
  headers?: Readonly<Record<string, string>>
  /** Strings are sent as UTF-8. */
  body?: Uint8Array | string
}

export type H2Response = {
  status: number
  /** Names lower-case; a repeated field keeps every value, joined by ", ". */
  headers: Record<string, string>
  body: Uint8Array
}

/** Fields HTTP/2 forbids because they describe an HTTP/1.1 connection (section 8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
])
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
/** Section 8.2.1: no NUL, CR or LF anywhere, no whitespace at either end. */
const VALUE = /^(?:[^\0\r\n\t ](?:[^\0\r\n]*[^\0\r\n\t ])?)?$/

export type PreparedRequest = { fields: HeaderField[]; body: Uint8Array }

/** The header list and body of a request. Throws TypeError for what HTTP/2 cannot carry. */
export function prepareRequest(
  request: H2Request,
  defaults: { authority?: string; scheme?: 'https' | 'http' },
): PreparedRequest {
  const authority = request.authority ?? defaults.authority
  if (!authority) throw new TypeError('an HTTP/2 request needs an authority (host[:port])')
  if (!TOKEN.test(request.method.toLowerCase())) {
    throw new TypeError(`invalid method "${request.method}"`)
  }
  if (!request.path.startsWith('/') || !VALUE.test(request.path) || request.path.includes(' ')) {
    throw new TypeError('the path must start with "/" and hold no whitespace')
  }
  const body =
    typeof request.body === 'string'
      ? new TextEncoder().encode(request.body)
      : (request.body ?? new Uint8Array(0))
  const fields: HeaderField[] = [
    [':method', request.method],
    [':scheme', request.scheme ?? defaults.scheme ?? 'https'],
    [':authority', authority],
    [':path', request.path],
  ]
  let hasLength = false
  for (const [rawName, value] of Object.entries(request.headers ?? {})) {
    const name = rawName.toLowerCase()
    if (!TOKEN.test(name) || CONNECTION_SPECIFIC.has(name)) {
      throw new TypeError(`header "${rawName}" cannot be sent over HTTP/2`)
    }
    if (name === 'te' && value !== 'trailers') throw new TypeError('te may only be "trailers"')
    if (!VALUE.test(value)) throw new TypeError(`header "${rawName}" has an invalid value`)
    if (name === 'content-length') hasLength = true
    fields.push([name, value])
  }
  if (body.length > 0 && !hasLength) fields.push(['content-length', String(body.length)])
  return { fields, body }
}

export type ResponseHead =
  | { kind: 'final'; status: number; headers: Record<string, string>; contentLength?: number }
  | { kind: 'informational' }
  | { kind: 'malformed'; reason: string }

/**
 * Checks a response header block (sections 8.1.1, 8.2 and 8.3.2): exactly one `:status` of three
 * digits, pseudo-headers first and no other, lower-case names, nothing connection-specific.
 */
export function parseResponseHead(fields: readonly HeaderField[]): ResponseHead {
  let status: string | undefined
  let regular = false
  // A Map, not an object: a server's field named `__proto__` or `constructor` stays a field.
  const values = new Map<string, string>()
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (name !== ':status' || status !== undefined || regular) {
        return { kind: 'malformed', reason: `unexpected pseudo-header ${name}` }
      }
      status = value
      continue
    }
    regular = true
    if (!TOKEN.test(name) || CONNECTION_SPECIFIC.has(name)) {
      return { kind: 'malformed', reason: `field "${name}" not allowed in HTTP/2` }
    }
    const seen = values.get(name)
    values.set(name, seen === undefined ? value : `${seen}, ${value}`)
  }
  const headers = Object.fromEntries(values)
  if (status === undefined || !/^[1-5]\d\d$/.test(status)) {
    return { kind: 'malformed', reason: 'missing or invalid :status' }
  }
  const code = Number(status)
  // 101 has no meaning in HTTP/2 (section 8.6); other 1xx precede the final answer.
  if (code === 101) return { kind: 'malformed', reason: ':status 101' }
  if (code < 200) return { kind: 'informational' }
  const length = headers['content-length']
  if (length === undefined) return { kind: 'final', status: code, headers }
  if (!/^\d{1,15}$/.test(length)) return { kind: 'malformed', reason: 'invalid content-length' }
  return { kind: 'final', status: code, headers, contentLength: Number(length) }
}

/** Trailers may carry no pseudo-header (section 8.1). */
export const trailersAreValid = (fields: readonly HeaderField[]) =>
  fields.every(([name]) => !name.startsWith(':'))
