/**
 * Tokens minted from a network credential and shared by every isolate through D1: the APNs
 * provider JWT (Apple answers TooManyProviderTokenUpdates to a fleet that mints its own) and the
 * FCM OAuth access token. Each isolate also keeps the last token in memory, so a hot consumer
 * reads D1 only when its copy ages out.
 *
 * A token is used until five minutes before it expires, or until it is older than the caller's
 * `renewIfOlderThanMs`. Minting races are settled by a conditional write: the first writer wins
 * and the others adopt its token.
 */
import { and, eq } from 'drizzle-orm'
import { importCredentialsKey, seal, unseal } from '../auth/sealed'
import type { Db } from './client'
import { providerTokens } from './schema'

export const EXPIRY_MARGIN_MS = 5 * 60 * 1000

type Entry = { token: string; issuedAt: number; expiresAt: number }

const memory = new Map<string, Entry>()

export type SharedTokenOptions = { renewIfOlderThanMs?: number; force?: boolean }

export function isFresh(entry: Entry, now: number, opts: SharedTokenOptions) {
  if (entry.expiresAt - EXPIRY_MARGIN_MS <= now) return false
  return opts.renewIfOlderThanMs === undefined || now - entry.issuedAt < opts.renewIfOlderThanMs
}

const aad = (key: string) => `provider-token:${key}`

export function sharedTokens(env: Env, db: Db, now: () => number) {
  async function read(key: string): Promise<Entry | null> {
    const [row] = await db.select().from(providerTokens).where(eq(providerTokens.key, key))
    if (!row) return null
    const sealing = await importCredentialsKey(env.CREDENTIALS_KEY)
    const token = await unseal(sealing, row.tokenSealed, aad(key))
    return { token, issuedAt: row.issuedAt, expiresAt: row.expiresAt }
  }

  return async function sharedToken(
    key: string,
    mint: () => Promise<{ token: string; expiresAt: number }>,
    opts: SharedTokenOptions,
  ): Promise<string> {
    const cached = memory.get(key)
    if (!opts.force && cached && isFresh(cached, now(), opts)) return cached.token

    const stored = await read(key)
    // On force, only a token other than the rejected one (someone renewed meanwhile) is reused.
    const usable =
      stored && isFresh(stored, now(), opts) && !(opts.force && stored.token === cached?.token)
    if (stored && usable) {
      memory.set(key, stored)
      return stored.token
    }

    const minted = await mint()
    const entry = { token: minted.token, issuedAt: now(), expiresAt: minted.expiresAt }
    const sealing = await importCredentialsKey(env.CREDENTIALS_KEY)
    const tokenSealed = await seal(sealing, entry.token, aad(key))
    const values = { key, tokenSealed, issuedAt: entry.issuedAt, expiresAt: entry.expiresAt }
    const written = stored
      ? await db
          .update(providerTokens)
          .set(values)
          .where(and(eq(providerTokens.key, key), eq(providerTokens.issuedAt, stored.issuedAt)))
          .returning({ key: providerTokens.key })
      : await db
          .insert(providerTokens)
          .values(values)
          .onConflictDoNothing()
          .returning({ key: providerTokens.key })
    if (written.length === 0) {
      // Another isolate wrote first: use its token so the fleet shares one.
      const winner = await read(key)
      if (winner) {
        memory.set(key, winner)
        return winner.token
      }
    }
    memory.set(key, entry)
    return entry.token
  }
}

/** Forgets this isolate's copies: for tests that simulate a fresh isolate. */
export function forgetSharedTokens() {
  memory.clear()
}
