/**
 * Installations (registered devices) and their categories. Writes are bulk and atomic: a
 * registration is a bulk write of one, an import of many, and either lands whole in one D1 batch
 * or not at all. Every statement stays under D1's 100 bound parameters.
 */
import { and, asc, count, eq, gt, inArray, or, type SQL, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import { chunk, type Db, MAX_BOUND_PARAMETERS } from './client'
import { categories, installationCategories, installations } from './schema'

export type InstallationRow = typeof installations.$inferSelect
export type Installation = InstallationRow & { categories: string[] }

/** One device as a registration or an import gives it, its token already normalised. */
export type InstallationInput = {
  deviceToken: string
  tokenKey: string
  alias: string | null
  deviceType: string | null
  operatingSystem: string | null
  osVersion: string | null
  platform: string | null
  enabled: boolean
  categories: string[]
}

const INSTALLATION_COLUMNS = 11
const ROWS_PER_INSERT = Math.floor(MAX_BOUND_PARAMETERS / INSTALLATION_COLUMNS)

/** Keys (token keys) among `keys` that already have a row in the variant. */
export async function existingTokenKeys(db: Db, variantId: string, keys: string[]) {
  const found = new Set<string>()
  for (const part of chunk(keys, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ key: installations.tokenKey })
      .from(installations)
      .where(and(eq(installations.variantId, variantId), inArray(installations.tokenKey, part)))
    for (const row of rows) found.add(row.key)
  }
  return found
}

/**
 * Inserts or replaces the given devices of one variant, with exactly the categories given
 * (a re-registration replaces every attribute), and removes `removeKeys` (the `x-ag-old-token`
 * of a registration) in the same batch.
 */
export async function upsertInstallations(
  db: Db,
  variantId: string,
  devices: InstallationInput[],
  removeKeys: string[] = [],
  newId: () => string = () => crypto.randomUUID(),
) {
  const now = Date.now()
  const statements: BatchItem<'sqlite'>[] = []

  for (const part of chunk(removeKeys, MAX_BOUND_PARAMETERS - 1)) {
    statements.push(
      db
        .delete(installations)
        .where(and(eq(installations.variantId, variantId), inArray(installations.tokenKey, part))),
    )
  }
  for (const part of chunk(devices, ROWS_PER_INSERT)) {
    statements.push(upsertRows(db, variantId, part, now, newId))
  }
  for (const part of chunk(
    devices.map((d) => d.tokenKey),
    MAX_BOUND_PARAMETERS - 1,
  )) {
    statements.push(
      db
        .delete(installationCategories)
        .where(inArray(installationCategories.installationId, idsOfKeys(db, variantId, part))),
    )
  }
  statements.push(...categoryStatements(db, variantId, devices))

  const [first, ...rest] = statements
  if (first) await db.batch([first, ...rest])
}

/**
 * An operator's edit of one installation, found by its token key: attributes and categories are
 * replaced, but `updatedAt` is not moved, since it records the device's last registration and
 * APNs pruning compares against it. A device deleted meanwhile stays deleted.
 */
export async function editInstallation(db: Db, variantId: string, device: InstallationInput) {
  const own = and(
    eq(installations.variantId, variantId),
    eq(installations.tokenKey, device.tokenKey),
  )
  const update = db
    .update(installations)
    .set({
      alias: device.alias,
      deviceType: device.deviceType,
      operatingSystem: device.operatingSystem,
      osVersion: device.osVersion,
      platform: device.platform,
      enabled: device.enabled,
    })
    .where(own)
  const unlink = db
    .delete(installationCategories)
    .where(
      inArray(installationCategories.installationId, idsOfKeys(db, variantId, [device.tokenKey])),
    )
  await db.batch([update, unlink, ...categoryStatements(db, variantId, [device])])
}

function upsertRows(
  db: Db,
  variantId: string,
  devices: InstallationInput[],
  now: number,
  newId: () => string,
) {
  const excluded = (column: string) => sql.raw(`excluded.${column}`)
  return db
    .insert(installations)
    .values(
      devices.map((d) => ({
        id: newId(),
        variantId,
        deviceToken: d.deviceToken,
        tokenKey: d.tokenKey,
        alias: d.alias,
        deviceType: d.deviceType,
        operatingSystem: d.operatingSystem,
        osVersion: d.osVersion,
        platform: d.platform,
        enabled: d.enabled,
        updatedAt: now,
      })),
    )
    .onConflictDoUpdate({
      target: [installations.variantId, installations.tokenKey],
      set: {
        deviceToken: excluded('device_token'),
        alias: excluded('alias'),
        deviceType: excluded('device_type'),
        operatingSystem: excluded('operating_system'),
        osVersion: excluded('os_version'),
        platform: excluded('platform'),
        enabled: excluded('enabled'),
        updatedAt: excluded('updated_at'),
      },
    })
}

function idsOfKeys(db: Db, variantId: string, keys: string[]) {
  return db
    .select({ id: installations.id })
    .from(installations)
    .where(and(eq(installations.variantId, variantId), inArray(installations.tokenKey, keys)))
}

/**
 * Category rows and links. Devices are grouped by their set of categories (an import usually
 * has few distinct sets), so that one statement links many devices to one set.
 */
function categoryStatements(db: Db, variantId: string, devices: InstallationInput[]) {
  const statements: BatchItem<'sqlite'>[] = []
  const names = [...new Set(devices.flatMap((d) => d.categories))]
  for (const part of chunk(names, MAX_BOUND_PARAMETERS)) {
    statements.push(
      db
        .insert(categories)
        .values(part.map((name) => ({ name })))
        .onConflictDoNothing(),
    )
  }

  const bySet = new Map<string, { names: string[]; keys: string[] }>()
  for (const device of devices) {
    if (device.categories.length === 0) continue
    const set = [...new Set(device.categories)].sort()
    const id = JSON.stringify(set)
    const group = bySet.get(id) ?? { names: set, keys: [] }
    group.keys.push(device.tokenKey)
    bySet.set(id, group)
  }
  for (const group of bySet.values()) {
    const keysPerStatement = Math.max(1, MAX_BOUND_PARAMETERS - 1 - group.names.length)
    for (const keys of chunk(group.keys, keysPerStatement)) {
      statements.push(
        db
          .insert(installationCategories)
          .select(
            db
              .select({ installationId: installations.id, categoryId: categories.id })
              .from(installations)
              .innerJoin(categories, inArray(categories.name, group.names))
              .where(
                and(eq(installations.variantId, variantId), inArray(installations.tokenKey, keys)),
              ),
          )
          .onConflictDoNothing(),
      )
    }
  }
  return statements
}

/** Category names per installation id. */
export async function categoriesOf(db: Db, installationIds: string[]) {
  const result = new Map<string, string[]>()
  for (const ids of chunk(installationIds, MAX_BOUND_PARAMETERS - 1)) {
    const rows = await db
      .select({ id: installationCategories.installationId, name: categories.name })
      .from(installationCategories)
      .innerJoin(categories, eq(categories.id, installationCategories.categoryId))
      .where(inArray(installationCategories.installationId, ids))
      .orderBy(categories.name)
    for (const row of rows) result.set(row.id, [...(result.get(row.id) ?? []), row.name])
  }
  return result
}

async function withCategories(db: Db, rows: InstallationRow[]): Promise<Installation[]> {
  const names = await categoriesOf(
    db,
    rows.map((r) => r.id),
  )
  return rows.map((row) => ({ ...row, categories: names.get(row.id) ?? [] }))
}

export async function findByTokenKey(db: Db, variantId: string, tokenKey: string) {
  const rows = await db
    .select()
    .from(installations)
    .where(and(eq(installations.variantId, variantId), eq(installations.tokenKey, tokenKey)))
  const [found] = await withCategories(db, rows)
  return found ?? null
}

export async function findInstallation(db: Db, variantId: string, id: string) {
  const rows = await db
    .select()
    .from(installations)
    .where(and(eq(installations.variantId, variantId), eq(installations.id, id)))
  const [found] = await withCategories(db, rows)
  return found ?? null
}

/**
 * Substring search over the text fields. `instr` rather than LIKE: D1 caps LIKE patterns at 50
 * bytes and LIKE needs escaping; lower() on both sides keeps the match case-insensitive.
 */
function searchCondition(variantId: string, search: string | undefined): SQL | undefined {
  const own = eq(installations.variantId, variantId)
  if (!search) return own
  const needle = search.toLowerCase()
  const match = (column: AnySQLiteColumn) => sql`instr(lower(${column}), ${needle}) > 0`
  return and(
    own,
    or(
      match(installations.deviceToken),
      match(installations.alias),
      match(installations.deviceType),
      match(installations.operatingSystem),
      match(installations.osVersion),
    ),
  )
}

export async function searchInstallations(
  db: Db,
  variantId: string,
  paging: { offset: number; perPage: number; search?: string | undefined },
) {
  const where = searchCondition(variantId, paging.search)
  const [total] = await db.select({ n: count() }).from(installations).where(where)
  const rows = await db
    .select()
    .from(installations)
    .where(where)
    .orderBy(asc(installations.createdAt), asc(installations.id))
    .limit(paging.perPage)
    .offset(paging.offset)
  return { total: total?.n ?? 0, items: await withCategories(db, rows) }
}

/** One page of a variant's installations after `afterId`, by keyset: for export. */
export async function installationsAfter(
  db: Db,
  variantId: string,
  afterId: string,
  limit: number,
) {
  const rows = await db
    .select()
    .from(installations)
    .where(and(eq(installations.variantId, variantId), gt(installations.id, afterId)))
    .orderBy(asc(installations.id))
    .limit(limit)
  return withCategories(db, rows)
}

export async function deleteByTokenKey(db: Db, variantId: string, tokenKey: string) {
  const deleted = await db
    .delete(installations)
    .where(and(eq(installations.variantId, variantId), eq(installations.tokenKey, tokenKey)))
    .returning({ id: installations.id })
  return deleted.length
}

export async function deleteInstallation(db: Db, variantId: string, id: string) {
  const deleted = await db
    .delete(installations)
    .where(and(eq(installations.variantId, variantId), eq(installations.id, id)))
    .returning({ id: installations.id })
  return deleted.length
}
