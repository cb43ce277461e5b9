// How a request on an HTTP/2 connection fails. Every failure the network or the server can cause
// rejects `request()` with an H2Error whose `kind` names it; the caller switches on `kind` (and
// `retryable`) and never on the message, which is for logs. Misuse (a bad header name, a timeout
// over 10 s) throws TypeError or RangeError instead: those are bugs, not outcomes.

/**
 * - `reset`: the server reset the stream (RST_STREAM `code`). Retryable only for REFUSED_STREAM,
 *   which guarantees the request was not processed (RFC 9113 section 8.7).
 * - `goaway`: the server is closing the connection and did not, and will not, process this
 *   request: its stream was above GOAWAY's last-stream-id, or it had not been sent yet. Always
 *   retryable, on a new connection.
 * - `timeout`: no complete answer within the request's time; the stream was cancelled. The
 *   server may have processed it: a retry can deliver twice (at-least-once).
 * - `connection`: the connection failed or was closed (socket error, server closed it, protocol
 *   error by either side, `close()`); `code` is the HTTP/2 error code when there was one. The
 *   request may have been processed.
 * - `malformed`: the answer broke HTTP/2's message rules (no `:status`, DATA before HEADERS, a
 *   wrong content-length, a body over the limit); the stream was reset. Not retryable.
 */
export type H2ErrorKind = 'reset' | 'goaway' | 'timeout' | 'connection' | 'malformed'

export class H2Error extends Error {
  override readonly name = 'H2Error'

  constructor(
    readonly kind: H2ErrorKind,
    message: string,
    /** Whether the same request may succeed if sent again (on a new connection for goaway and connection). */
    readonly retryable: boolean,
    /** The HTTP/2 error code (RFC 9113 section 7) that came with the failure, if any. */
    readonly code?: number,
  ) {
    super(message)
  }
}

export const isH2Error = (error: unknown): error is H2Error => error instanceof H2Error
