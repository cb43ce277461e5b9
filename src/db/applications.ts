/**
 * Applications and the counts shown beside them (devices, sends). The admin routes call only
 * these functions.
 */
import { and, count, desc, eq, inArray, sql } from 'drizzle-orm'
import { chunk, type Db, MAX_BOUND_PARAMETERS } from './client'
import { applications, installations, jobVariants, pushJobs, variants } from './schema'

export type ApplicationRow = typeof applications.$inferSelect

import type { VariantRow } from './variants'

export async function countApplications(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(applications)
  return row?.n ?? 0
}

export function listApplications(db: Db, offset: number, limit: number) {
  return db
    .select()
    .from(applications)
    .orderBy(desc(applications.createdAt), applications.id)
    .limit(limit)
    .offset(offset)
}

export async function findApplication(db: Db, pushApplicationId: string) {
  const [row] = await db
    .select()
    .from(applications)
    .where(eq(applications.pushApplicationId, pushApplicationId))
  return row ?? null
}

/** The variants of these applications, oldest first. */
export async function variantsOf(db: Db, applicationIds: string[]): Promise<VariantRow[]> {
  const rows: VariantRow[] = []
  for (const ids of chunk(applicationIds, MAX_BOUND_PARAMETERS - 1)) {
    rows.push(
      ...(await db
        .select()
        .from(variants)
        .where(inArray(variants.applicationId, ids))
        .orderBy(variants.createdAt, variants.id)),
    )
  }
  return rows
}

/** Installations per variant (internal variant ids), for the `deviceCount_*` headers. */
export async function deviceCounts(db: Db, variantIds: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const ids of chunk(variantIds, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ variantId: installations.variantId, n: count() })
      .from(installations)
      .where(inArray(installations.variantId, ids))
      .groupBy(installations.variantId)
    for (const row of rows) counts.set(row.variantId, row.n)
  }
  return counts
}

/** Sends per application and per variant, for the `activity_*` headers. */
export async function activityCounts(db: Db, applicationIds: string[], variantIds: string[]) {
  const apps = new Map<string, number>()
  const perVariant = new Map<string, number>()
  for (const ids of chunk(applicationIds, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ id: pushJobs.applicationId, n: count() })
      .from(pushJobs)
      .where(inArray(pushJobs.applicationId, ids))
      .groupBy(pushJobs.applicationId)
    for (const row of rows) apps.set(row.id, row.n)
  }
  for (const ids of chunk(variantIds, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ id: jobVariants.variantId, n: count() })
      .from(jobVariants)
      .where(inArray(jobVariants.variantId, ids))
      .groupBy(jobVariants.variantId)
    for (const row of rows) perVariant.set(row.id, row.n)
  }
  return { apps, variants: perVariant }
}

export function insertApplication(db: Db, row: typeof applications.$inferInsert) {
  return db.insert(applications).values(row).onConflictDoNothing().returning()
}

export function updateApplication(
  db: Db,
  id: string,
  fields: Partial<Pick<ApplicationRow, 'name' | 'description' | 'developer' | 'masterSecretHash'>>,
) {
  return db
    .update(applications)
    .set({ ...fields, updatedAt: Date.now() })
    .where(eq(applications.id, id))
}

export function deleteApplication(db: Db, id: string) {
  return db.delete(applications).where(eq(applications.id, id))
}

/** Installations of an application per type and per variant (`GET .../count`). */
export async function installationCountsByVariant(db: Db, applicationId: string) {
  return db
    .select({
      variantId: variants.variantId,
      type: variants.type,
      n: sql<number>`count(${installations.id})`,
    })
    .from(variants)
    .leftJoin(installations, eq(installations.variantId, variants.id))
    .where(and(eq(variants.applicationId, applicationId)))
    .groupBy(variants.id)
}
