/**
 * `AdapterContext.sharedToken` held in memory, for adapter tests that need no D1: the same
 * contract as src/db/tokens.ts, with what tests want to see (calls, mints, the stored tokens).
 */
import { EXPIRY_MARGIN_MS } from '../../src/db/tokens'
import type { AdapterContext } from '../../src/networks/adapter'

export { EXPIRY_MARGIN_MS }

type Entry = { token: string; expiresAt: number; mintedAt: number }

export type MemoryTokenCache = AdapterContext['sharedToken'] & {
  mints: number
  calls: { key: string; renewIfOlderThanMs?: number; rejected?: string }[]
  stored: Map<string, Entry>
}

/**
 * The stored token while `now < expiresAt - EXPIRY_MARGIN_MS` (and younger than
 * `renewIfOlderThanMs` when given) and not the `rejected` one, a fresh `mint()` otherwise;
 * nothing is stored when `mint` throws. Of two renewals at once the first to finish is kept and
 * returned to both, as D1's conditional write does.
 */
export function memoryTokenCache(now: () => number): MemoryTokenCache {
  const stored = new Map<string, Entry>()
  const cache = (async (key, mint, opts) => {
    cache.calls.push({ key, ...opts })
    const known = stored.get(key)
    const young =
      known &&
      (opts.renewIfOlderThanMs === undefined || now() - known.mintedAt < opts.renewIfOlderThanMs)
    const fresh = known && now() < known.expiresAt - EXPIRY_MARGIN_MS
    if (known && known.token !== opts.rejected && fresh && young) return known.token
    const minted = await mint()
    cache.mints++
    const winner = stored.get(key)
    if (winner && winner !== known && winner.token !== opts.rejected) return winner.token
    stored.set(key, { ...minted, mintedAt: now() })
    return minted.token
  }) as MemoryTokenCache
  cache.mints = 0
  cache.calls = []
  cache.stored = stored
  return cache
}

/** An adapter context on the real clock (or `now`), real fetch and an in-memory token cache. */
export function testContext(now: () => number = Date.now): AdapterContext & {
  sharedToken: MemoryTokenCache
} {
  return { now, fetch, sharedToken: memoryTokenCache(now) }
}
