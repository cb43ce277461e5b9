/**
 * Tokens minted from a network credential and shared by every isolate through D1: the APNs
 * provider JWT (Apple answers TooManyProviderTokenUpdates to a fleet that mints its own) and the
 * FCM OAuth access token. Each isolate also keeps the last token in memory, so a hot consumer
 * reads D1 only when its copy ages out.
 *
 * A token is used until five minutes before it expires, or until it is older than the caller's
 * `renewIfOlderThanMs`, or until the network refuses it (`rejected`). A refused token is never
 * handed out again, but a renewal only mints when the token it finds is still the refused one:
 * a different fresh token, renewed meanwhile by another batch or isolate, is adopted instead, so
 * that late answers to the old token do not renew it a second time.
 *
 * Minting races are settled by a conditional write: the row is replaced only if it still holds
 * the version this isolate read, so the first writer wins and the others adopt its token. The
 * version is the sealed text, whose random IV makes every write unique; `issuedAt` would not do,
 * as two tokens minted in the same millisecond (a frozen clock) carry the same one.
 */
import { and, eq } from 'drizzle-orm'
import { importCredentialsKey, seal, unseal } from '../auth/sealed'
import type { Db } from './client'
import { providerTokens } from './schema'

export const EXPIRY_MARGIN_MS = 5 * 60 * 1000

type Entry = { token: string; issuedAt: number; expiresAt: number }

const memory = new Map<string, Entry>()

export type SharedTokenOptions = {
  renewIfOlderThanMs?: number
  /** The token the network refused: never returned again, and renewed at most once. */
  rejected?: string
}

export function isFresh(entry: Entry, now: number, opts: SharedTokenOptions) {
  if (entry.expiresAt - EXPIRY_MARGIN_MS <= now) return false
  return opts.renewIfOlderThanMs === undefined || now - entry.issuedAt < opts.renewIfOlderThanMs
}

/** Whether `entry` may be handed out: fresh, and not the token the network refused. */
function isUsable(entry: Entry, now: number, opts: SharedTokenOptions) {
  return entry.token !== opts.rejected && isFresh(entry, now, opts)
}

const aad = (key: string) => `provider-token:${key}`

export function sharedTokens(env: Env, db: Db, now: () => number) {
  async function read(key: string): Promise<(Entry & { tokenSealed: string }) | undefined> {
    const [row] = await db.select().from(providerTokens).where(eq(providerTokens.key, key))
    if (!row) return undefined
    const sealing = await importCredentialsKey(env.CREDENTIALS_KEY)
    const token = await unseal(sealing, row.tokenSealed, aad(key))
    return { token, issuedAt: row.issuedAt, expiresAt: row.expiresAt, tokenSealed: row.tokenSealed }
  }

  function remember(key: string, entry: Entry): string {
    const { token, issuedAt, expiresAt } = entry
    memory.set(key, { token, issuedAt, expiresAt })
    return token
  }

  return async function sharedToken(
    key: string,
    mint: () => Promise<{ token: string; expiresAt: number }>,
    opts: SharedTokenOptions,
  ): Promise<string> {
    const cached = memory.get(key)
    if (cached && isUsable(cached, now(), opts)) return cached.token

    const stored = await read(key)
    if (stored && isUsable(stored, now(), opts)) return remember(key, stored)

    const minted = await mint()
    const entry = { token: minted.token, issuedAt: now(), expiresAt: minted.expiresAt }
    const sealing = await importCredentialsKey(env.CREDENTIALS_KEY)
    const tokenSealed = await seal(sealing, entry.token, aad(key))
    const values = { key, tokenSealed, issuedAt: entry.issuedAt, expiresAt: entry.expiresAt }
    const written = stored
      ? await db
          .update(providerTokens)
          .set(values)
          .where(
            and(eq(providerTokens.key, key), eq(providerTokens.tokenSealed, stored.tokenSealed)),
          )
          .returning({ key: providerTokens.key })
      : await db
          .insert(providerTokens)
          .values(values)
          .onConflictDoNothing()
          .returning({ key: providerTokens.key })
    if (written.length > 0) return remember(key, entry)

    // Another isolate renewed first: ours is dropped unused, so the fleet shares one token. Only
    // a row deleted meanwhile leaves ours, unshared, to this isolate.
    const winner = await read(key)
    if (winner && winner.token !== opts.rejected) return remember(key, winner)
    return remember(key, entry)
  }
}

/** Forgets this isolate's copies: for tests that simulate a fresh isolate. */
export function forgetSharedTokens() {
  memory.clear()
}
