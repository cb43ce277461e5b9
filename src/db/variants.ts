/**
 * Variants: looked up only through the application that owns them (tenancy), or by variantID
 * for the device and installation paths, which name no application.
 */
import { and, eq } from 'drizzle-orm'
import type { Db } from './client'
import { variants } from './schema'

export type VariantRow = typeof variants.$inferSelect

/** Additional data binding a variant's sealed secret and credentials to its row. */
export const secretAad = (variant: Pick<VariantRow, 'id'>) => `variant:${variant.id}:secret`
export const credentialsAad = (variant: Pick<VariantRow, 'id'>) =>
  `variant:${variant.id}:credentials`

export async function findVariantOfApplication(
  db: Db,
  applicationId: string,
  variantId: string,
): Promise<VariantRow | null> {
  const [row] = await db
    .select()
    .from(variants)
    .where(and(eq(variants.applicationId, applicationId), eq(variants.variantId, variantId)))
  return row ?? null
}

export async function findVariant(db: Db, variantId: string): Promise<VariantRow | null> {
  const [row] = await db.select().from(variants).where(eq(variants.variantId, variantId))
  return row ?? null
}

export function variantsOfType(db: Db, applicationId: string, type: VariantRow['type']) {
  return db
    .select()
    .from(variants)
    .where(and(eq(variants.applicationId, applicationId), eq(variants.type, type)))
    .orderBy(variants.createdAt, variants.id)
}

export function insertVariant(db: Db, row: typeof variants.$inferInsert) {
  return db.insert(variants).values(row).returning()
}

export function updateVariant(
  db: Db,
  id: string,
  fields: Partial<Omit<typeof variants.$inferInsert, 'id' | 'applicationId' | 'type'>>,
) {
  return db
    .update(variants)
    .set({ ...fields, updatedAt: Date.now() })
    .where(eq(variants.id, id))
    .returning()
}

export function deleteVariant(db: Db, id: string) {
  return db.delete(variants).where(eq(variants.id, id))
}

export async function findVariantById(db: Db, id: string): Promise<VariantRow | null> {
  const [row] = await db.select().from(variants).where(eq(variants.id, id))
  return row ?? null
}
