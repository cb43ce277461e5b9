/**
 * The `h2` transport: notifications multiplexed on one HTTP/2 connection that the Worker runs
 * itself over a `cloudflare:sockets` TCP socket (h2/connection.ts), as many in flight as the
 * server's MAX_CONCURRENT_STREAMS allows. Apple holds that at 1 until it has seen a valid
 * provider token on the connection, then raises it.
 *
 * Connections are pooled per consumer invocation, one per (endpoint, signing key): sockets belong
 * to the invocation that opened them, and the pool is closed when the invocation ends. A
 * connection that received GOAWAY or failed is replaced on the next request; the requests it
 * could not carry come back as retryable errors, so the adapter sends them again, not lost. One
 * going away still answers the streams it took, then closes itself.
 */
import { type H2Connection, openH2 } from './h2/connection'
import { H2Error } from './h2/errors'
import type { ApnsResponse, ApnsTransport, ApnsTransportError } from './transport'

/**
 * What the adapter may have in flight on a connection whose server names no
 * MAX_CONCURRENT_STREAMS (unlimited, RFC 9113 §6.5.2): the least that section recommends a
 * server allow. Apple names its limit; this is for other servers.
 */
const UNNAMED_LIMIT_STREAMS = 100

export class H2Pool {
  private readonly connections = new Map<string, H2Connection>()
  /**
   * Replaced connections not closed yet. After a GOAWAY the streams at or below its last id are
   * still being answered, and the connection closes itself after the last one (h2/connection.ts).
   * Closing it on replacement would fail requests Apple has taken: sent again, delivered twice.
   */
  private readonly draining = new Set<H2Connection>()

  constructor(private readonly open: (endpoint: string) => H2Connection = openH2) {}

  /** The usable connection for this endpoint and key, opening a new one if needed. */
  connection(endpoint: string, key: string): H2Connection {
    const id = `${endpoint} ${key}`
    const known = this.connections.get(id)
    if (known?.isUsable()) return known
    const fresh = this.open(endpoint)
    this.connections.set(id, fresh)
    if (known) {
      this.draining.add(known)
      void known.closed.then(() => this.draining.delete(known))
    }
    return fresh
  }

  /** Closes every connection, draining ones included: sockets end with the invocation. */
  async close() {
    const all = [...this.connections.values(), ...this.draining]
    this.connections.clear()
    this.draining.clear()
    await Promise.all(all.map((c) => c.close().catch(() => undefined)))
  }
}

/** A transport to `endpoint` for the signing key `key`, on the pool's shared connection. */
export function h2Transport(pool: H2Pool, endpoint: string, key: string): ApnsTransport {
  return {
    get maxInFlight() {
      const current = pool.connection(endpoint, key).stats.maxConcurrentStreams
      // A limit of 0 (the server pauses new streams) still lets one wait in the connection.
      return Number.isFinite(current) ? Math.max(current, 1) : UNNAMED_LIMIT_STREAMS
    },
    async send(request, { timeoutMs }): Promise<ApnsResponse | ApnsTransportError> {
      const connection = pool.connection(endpoint, key)
      try {
        const response = await connection.request(
          { method: 'POST', path: request.path, headers: request.headers, body: request.body },
          { timeoutMs },
        )
        const body = new TextDecoder().decode(response.body)
        return { kind: 'response', status: response.status, headers: response.headers, body }
      } catch (error) {
        if (!(error instanceof H2Error)) throw error
        return transportError(error)
      }
    },
    // The pool outlives the batch: the connection stays open for the invocation's next batch.
    async close() {},
  }
}

function transportError(error: H2Error): ApnsTransportError {
  switch (error.kind) {
    case 'timeout':
      return { kind: 'transport', retryable: true, reason: 'timeout' }
    case 'reset':
      return { kind: 'transport', retryable: true, reason: 'stream_reset' }
    case 'goaway':
    case 'connection':
      return { kind: 'transport', retryable: true, reason: 'connection_closed' }
    case 'malformed':
      return { kind: 'transport', retryable: false, reason: 'network_error' }
  }
}
