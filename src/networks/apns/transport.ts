/**
 * How the APNs adapter reaches Apple: one request per notification, `POST /3/device/<token>`,
 * over some HTTP connection. Two implementations plug in: `fetch` (fetch-transport.ts: the
 * Worker's own fetch, at most six in flight) and `h2` (HTTP/2 over a `cloudflare:sockets` TCP
 * socket, as many in flight as the server's MAX_CONCURRENT_STREAMS). See DESIGN.md, Networks.
 *
 * A transport knows nothing of APNs' semantics: the adapter builds every header, the
 * authorization included, and classifies every answer. Failures to get an answer are values.
 */

/** One notification request. Header names are lower case. */
export type ApnsRequest = {
  path: `/3/device/${string}`
  headers: Record<string, string>
  body: string
}

/** Apple's answer. Header names are lower case. */
export type ApnsResponse = {
  kind: 'response'
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * No answer. `retryable` is true for every failure the fetch transport can see (the connection
 * failed, the request timed out); an h2 transport may also report a stream reset or a GOAWAY
 * that covered the stream, which are retryable too.
 */
export type ApnsTransportError = {
  kind: 'transport'
  retryable: boolean
  reason: 'timeout' | 'network_error' | 'stream_reset' | 'connection_closed'
}

export interface ApnsTransport {
  /**
   * Requests the adapter may have in flight at once; read before each new request, so that an
   * h2 transport can follow the server's MAX_CONCURRENT_STREAMS as it changes (Apple allows 1
   * until it has seen a valid provider token on the connection).
   */
  readonly maxInFlight: number
  send(
    request: ApnsRequest,
    opts: { timeoutMs: number },
  ): Promise<ApnsResponse | ApnsTransportError>
  /** Called once when the batch is done; a pooled transport may keep its connection open. */
  close(): Promise<void>
}

/** Builds (or lends) a transport to one endpoint: https://api.push.apple.com or a local fake. */
export type ApnsTransportFactory = (endpoint: string) => ApnsTransport
