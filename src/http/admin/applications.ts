/**
 * `/rest/applications`: push applications, the unit a backend sends to. The master secret is
 * shown once, when made or reset, and stored only as a SHA-256 hash.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { importCredentialsKey } from '../../auth/sealed'
import { newId, randomSecret, sha256Hex } from '../../auth/secrets'
import {
  activityCounts,
  countApplications,
  deleteApplication,
  deviceCounts,
  findApplication,
  insertApplication,
  installationCountsByVariant,
  listApplications,
  updateApplication,
  variantsOf,
} from '../../db/applications'
import type { Db } from '../../db/client'
import { openDb } from '../../db/client'
import { ApiError, notFound } from '../errors'
import { readJson } from '../input'
import { readPaging, setPageHeaders } from '../paging'
import type { AppEnv } from '../types'
import { presentApplication } from './present'
import { VARIANT_TYPES } from './variant-types'

export const CreateApplication = z.strictObject({
  name: z.string().trim().min(1).max(255),
  description: z.string().max(1024).nullish(),
  developer: z.string().max(255).nullish(),
  pushApplicationID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, dot, dash, underscore')
    .optional(),
  masterSecret: z.string().min(16, 'at least 16 characters').max(255).optional(),
})

export const UpdateApplication = z.strictObject({
  name: z.string().trim().min(1).max(255).optional(),
  description: z.string().max(1024).nullish(),
  developer: z.string().max(255).nullish(),
})

export const applicationRoutes = new Hono<AppEnv>()

async function mustFind(db: Db, pushApplicationId: string) {
  const app = await findApplication(db, pushApplicationId)
  if (!app) throw notFound('Application')
  return app
}

/** Adds the `deviceCount_*` and `activity_*` headers UPS clients read beside applications. */
async function setCountHeaders(
  db: Db,
  setHeader: (name: string, value: string) => void,
  apps: { id: string; pushApplicationId: string }[],
  variants: { id: string; variantId: string; applicationId: string }[],
  flags: { includeDeviceCount: boolean; includeActivity: boolean },
) {
  if (flags.includeDeviceCount) {
    const counts = await deviceCounts(
      db,
      variants.map((v) => v.id),
    )
    for (const app of apps) {
      const own = variants.filter((v) => v.applicationId === app.id)
      const total = own.reduce((sum, v) => sum + (counts.get(v.id) ?? 0), 0)
      setHeader(`deviceCount_app_${app.pushApplicationId}`, String(total))
      for (const v of own)
        setHeader(`deviceCount_variant_${v.variantId}`, String(counts.get(v.id) ?? 0))
    }
  }
  if (flags.includeActivity) {
    const activity = await activityCounts(
      db,
      apps.map((a) => a.id),
      variants.map((v) => v.id),
    )
    for (const app of apps) {
      setHeader(`activity_app_${app.pushApplicationId}`, String(activity.apps.get(app.id) ?? 0))
    }
    for (const v of variants) {
      setHeader(`activity_variant_${v.variantId}`, String(activity.variants.get(v.id) ?? 0))
    }
  }
}

applicationRoutes.post('/', async (c) => {
  const input = await readJson(c, CreateApplication)
  const db = openDb(c.env)
  const masterSecret = input.masterSecret ?? randomSecret()
  const now = Date.now()
  const [app] = await insertApplication(db, {
    id: newId(),
    pushApplicationId: input.pushApplicationID ?? newId(),
    name: input.name,
    description: input.description ?? null,
    developer: input.developer ?? 'admin',
    masterSecretHash: await sha256Hex(masterSecret),
    createdAt: now,
    updatedAt: now,
  })
  if (!app) {
    throw new ApiError(409, 'An application with this pushApplicationID exists', {
      pushApplicationID: 'already taken',
    })
  }
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  c.header('Location', `/rest/applications/${app.pushApplicationId}`)
  return c.json(await presentApplication(key, app, [], masterSecret), 201)
})

applicationRoutes.get('/', async (c) => {
  const paging = readPaging(c, { perPage: 8, maxPerPage: 25 })
  const db = openDb(c.env)
  const [total, apps] = await Promise.all([
    countApplications(db),
    listApplications(db, paging.offset, paging.perPage),
  ])
  const variants = await variantsOf(
    db,
    apps.map((a) => a.id),
  )
  await setCountHeaders(db, (n, v) => c.header(n, v), apps, variants, paging)
  setPageHeaders(c, paging, total)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const body = await Promise.all(
    apps.map((app) =>
      presentApplication(
        key,
        app,
        variants.filter((v) => v.applicationId === app.id),
      ),
    ),
  )
  return c.json(body)
})

applicationRoutes.get('/:pushAppID', async (c) => {
  const paging = readPaging(c, { perPage: 8, maxPerPage: 25 })
  const db = openDb(c.env)
  const app = await mustFind(db, c.req.param('pushAppID'))
  const variants = await variantsOf(db, [app.id])
  await setCountHeaders(db, (n, v) => c.header(n, v), [app], variants, paging)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  return c.json(await presentApplication(key, app, variants))
})

applicationRoutes.put('/:pushAppID', async (c) => {
  const input = await readJson(c, UpdateApplication)
  const db = openDb(c.env)
  const app = await mustFind(db, c.req.param('pushAppID'))
  await updateApplication(db, app.id, {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.description !== undefined && { description: input.description }),
    ...(input.developer !== undefined && { developer: input.developer }),
  })
  return c.body(null, 204)
})

applicationRoutes.put('/:pushAppID/reset', async (c) => {
  const db = openDb(c.env)
  const app = await mustFind(db, c.req.param('pushAppID'))
  const masterSecret = randomSecret()
  await updateApplication(db, app.id, { masterSecretHash: await sha256Hex(masterSecret) })
  const variants = await variantsOf(db, [app.id])
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  return c.json(await presentApplication(key, app, variants, masterSecret))
})

applicationRoutes.delete('/:pushAppID', async (c) => {
  const db = openDb(c.env)
  const app = await mustFind(db, c.req.param('pushAppID'))
  await deleteApplication(db, app.id)
  return c.body(null, 204)
})

applicationRoutes.get('/:pushAppID/count', async (c) => {
  const db = openDb(c.env)
  const app = await mustFind(db, c.req.param('pushAppID'))
  const rows = await installationCountsByVariant(db, app.id)
  const counts: Record<string, number> = Object.fromEntries(VARIANT_TYPES.map((t) => [t, 0]))
  for (const row of rows) {
    counts[row.type] = (counts[row.type] ?? 0) + row.n
    counts[row.variantId] = row.n
  }
  return c.json(counts)
})
