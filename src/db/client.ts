/**
 * The drizzle handle over the D1 binding. Every query goes through modules of this folder, so that
 * sharding installations across databases later is a change here, not in the routes.
 */
import { drizzle } from 'drizzle-orm/d1'
import * as schema from './schema'

export type Db = ReturnType<typeof openDb>

export function openDb(env: Env) {
  return drizzle(env.DB, { schema })
}

/** D1 binds at most 100 parameters per statement: multi-row writes go in chunks. */
export const MAX_BOUND_PARAMETERS = 100

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}
