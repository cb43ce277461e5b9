/**
 * One page of a variant's audience: enabled installations matching the criteria (OR within a
 * list, AND across lists), by keyset on id, never OFFSET. A long alias list is walked in chunks
 * so that no statement binds more than D1's 100 parameters; the cursor names the chunk and the
 * last id seen in it.
 */
import { and, asc, eq, exists, gt, inArray, type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'
import { z } from 'zod'
import { type Db, MAX_BOUND_PARAMETERS } from '../db/client'
import { categories, installationCategories, installations } from '../db/schema'
import type { Criteria } from '../push/message'

export type Cursor = { chunk: number; afterId: string }

const CursorJson = z.object({ chunk: z.number().int().min(0), afterId: z.string() })

export const START: Cursor = { chunk: 0, afterId: '' }

export function encodeCursor(cursor: Cursor): string {
  return JSON.stringify(cursor)
}

export function decodeCursor(text: string | null): Cursor {
  return text === null ? START : CursorJson.parse(JSON.parse(text))
}

/** The alias chunks a criteria is walked in; one chunk (null) when it names no aliases. */
export function aliasChunks(criteria: Criteria): (string[] | null)[] {
  const aliases = [...new Set(criteria.alias ?? [])]
  if (aliases.length === 0) return [null]
  // Parameters besides the aliases: variant, enabled, cursor, limit, and the other two lists,
  // each bound as one JSON text (see `inJsonList`).
  const others = 6
  const size = MAX_BOUND_PARAMETERS - others
  const chunks: string[][] = []
  for (let i = 0; i < aliases.length; i += size) chunks.push(aliases.slice(i, i + size))
  return chunks
}

export type AudienceRow = { id: string; deviceToken: string; updatedAt: number }

export type AudiencePage = { rows: AudienceRow[]; next: Cursor | null }

/**
 * `column IN (the list)` with the whole list bound as one JSON parameter: the API accepts up to
 * 100 device types and 100 categories, and D1 refuses a statement with more than 100 parameters.
 */
function inJsonList(column: SQLiteColumn, values: string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`
}

/** The next `limit` installations after `cursor`; `next` is null when the audience is exhausted. */
export async function audiencePage(
  db: Db,
  variantId: string,
  criteria: Criteria,
  cursor: Cursor,
  limit: number,
): Promise<AudiencePage> {
  const chunks = aliasChunks(criteria)
  const aliases = chunks[cursor.chunk]
  if (aliases === undefined) return { rows: [], next: null }

  const conditions: (SQL | undefined)[] = [
    eq(installations.variantId, variantId),
    eq(installations.enabled, true),
    gt(installations.id, cursor.afterId),
  ]
  if (aliases) conditions.push(inArray(installations.alias, aliases))
  if (criteria.deviceType?.length) {
    conditions.push(inJsonList(installations.deviceType, criteria.deviceType))
  }
  if (criteria.categories?.length) {
    conditions.push(
      exists(
        db
          .select({ one: installationCategories.categoryId })
          .from(installationCategories)
          .innerJoin(categories, eq(categories.id, installationCategories.categoryId))
          .where(
            and(
              eq(installationCategories.installationId, installations.id),
              inJsonList(categories.name, criteria.categories),
            ),
          ),
      ),
    )
  }
  const rows = await db
    .select({
      id: installations.id,
      deviceToken: installations.deviceToken,
      updatedAt: installations.updatedAt,
    })
    .from(installations)
    .where(and(...conditions))
    .orderBy(asc(installations.id))
    .limit(limit)

  const last = rows.at(-1)
  if (rows.length === limit && last)
    return { rows, next: { chunk: cursor.chunk, afterId: last.id } }
  const nextChunk = cursor.chunk + 1
  return { rows, next: nextChunk < chunks.length ? { chunk: nextChunk, afterId: '' } : null }
}
