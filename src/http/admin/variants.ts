/**
 * `/rest/applications/{pushAppID}/{type}`: one variant per push network. Every call first finds
 * the application, then the variant *within* it: another application's variant is a 404 here.
 */
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { importCredentialsKey, seal, unseal } from '../../auth/sealed'
import { newId, randomSecret } from '../../auth/secrets'
import { readConfig } from '../../config'
import { findApplication } from '../../db/applications'
import type { Db } from '../../db/client'
import { openDb } from '../../db/client'
import {
  credentialsAad,
  deleteVariant,
  findVariantOfApplication,
  insertVariant,
  secretAad,
  updateVariant,
  type VariantRow,
  variantsOfType,
} from '../../db/variants'
import { ApiError, notFound } from '../errors'
import { readJsonValue } from '../input'
import type { AppEnv } from '../types'
import { presentVariant } from './present'
import {
  buildVariantConfig,
  parseVariantInput,
  renewVapid,
  type VariantConfig,
  type VariantType,
  variantTypeOf,
} from './variant-types'

export const variantRoutes = new Hono<AppEnv>()

function typeOf(segment: string): VariantType {
  const type = variantTypeOf(segment)
  if (!type) throw notFound('Variant type')
  return type
}

async function findApp(db: Db, pushAppId: string) {
  const app = await findApplication(db, pushAppId)
  if (!app) throw notFound('Application')
  return app
}

type Ctx = Context<AppEnv>

/** The variant named by the path, of the path's type, owned by the path's application. */
async function findOwned(db: Db, c: Ctx) {
  const type = typeOf(c.req.param('type') ?? '')
  const app = await findApp(db, c.req.param('pushAppID') ?? '')
  const variant = await findVariantOfApplication(db, app.id, c.req.param('variantID') ?? '')
  if (!variant || variant.type !== type) throw notFound('Variant')
  return variant
}

const StoredCredentials = z.record(z.string(), z.unknown())

async function storedConfig(key: CryptoKey, variant: VariantRow): Promise<VariantConfig> {
  const text = await unseal(key, variant.credentialsSealed, credentialsAad(variant))
  return { settings: variant.settings, credentials: StoredCredentials.parse(JSON.parse(text)) }
}

variantRoutes.post('/:pushAppID/:type', async (c) => {
  const type = typeOf(c.req.param('type'))
  const input = parseVariantInput(type, await readJsonValue(c), false)
  const db = openDb(c.env)
  const app = await findApp(db, c.req.param('pushAppID'))
  const config = await buildVariantConfig(type, input, null, {
    allowInsecure: readConfig(c.env).ALLOW_INSECURE_ENDPOINTS,
  })

  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const id = newId()
  const now = Date.now()
  const [variant] = await insertVariant(db, {
    id,
    variantId: newId(),
    applicationId: app.id,
    type,
    name: input.name ?? type,
    description: input.description ?? null,
    developer: input.developer ?? 'admin',
    secretSealed: await seal(key, input.secret ?? randomSecret(), secretAad({ id })),
    settings: config.settings,
    credentialsSealed: await seal(key, JSON.stringify(config.credentials), credentialsAad({ id })),
    createdAt: now,
    updatedAt: now,
  })
  if (!variant) throw new Error('insert returned no row')
  c.header('Location', `/rest/applications/${app.pushApplicationId}/${type}/${variant.variantId}`)
  return c.json(await presentVariant(key, variant), 201)
})

variantRoutes.get('/:pushAppID/:type', async (c) => {
  const type = typeOf(c.req.param('type'))
  const db = openDb(c.env)
  const app = await findApp(db, c.req.param('pushAppID'))
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const rows = await variantsOfType(db, app.id, type)
  return c.json(await Promise.all(rows.map((v) => presentVariant(key, v))))
})

variantRoutes.get('/:pushAppID/:type/:variantID', async (c) => {
  const variant = await findOwned(openDb(c.env), c)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  return c.json(await presentVariant(key, variant))
})

/** PUT updates any field given (200 with the variant); PATCH does the same and answers 204. */
async function update(c: Ctx) {
  const db = openDb(c.env)
  const variant = await findOwned(db, c)
  const input = parseVariantInput(variant.type, await readJsonValue(c), true)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const config = await buildVariantConfig(variant.type, input, await storedConfig(key, variant), {
    allowInsecure: readConfig(c.env).ALLOW_INSECURE_ENDPOINTS,
  })
  const [updated] = await updateVariant(db, variant.id, {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.description !== undefined && { description: input.description }),
    ...(input.developer !== undefined && { developer: input.developer }),
    ...(input.secret !== undefined && {
      secretSealed: await seal(key, input.secret, secretAad(variant)),
    }),
    settings: config.settings,
    credentialsSealed: await seal(key, JSON.stringify(config.credentials), credentialsAad(variant)),
  })
  if (!updated) throw notFound('Variant')
  return { key, updated }
}

variantRoutes.put('/:pushAppID/:type/:variantID', async (c) => {
  const { key, updated } = await update(c)
  return c.json(await presentVariant(key, updated))
})

variantRoutes.patch('/:pushAppID/:type/:variantID', async (c) => {
  await update(c)
  return c.body(null, 204)
})

variantRoutes.delete('/:pushAppID/:type/:variantID', async (c) => {
  const db = openDb(c.env)
  const variant = await findOwned(db, c)
  await deleteVariant(db, variant.id)
  return c.body(null, 204)
})

variantRoutes.put('/:pushAppID/:type/:variantID/reset', async (c) => {
  const db = openDb(c.env)
  const variant = await findOwned(db, c)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const [updated] = await updateVariant(db, variant.id, {
    secretSealed: await seal(key, randomSecret(), secretAad(variant)),
  })
  if (!updated) throw notFound('Variant')
  return c.json(await presentVariant(key, updated))
})

variantRoutes.put('/:pushAppID/:type/:variantID/renew', async (c) => {
  const db = openDb(c.env)
  const variant = await findOwned(db, c)
  if (variant.type !== 'web_push') {
    throw new ApiError(400, 'Only web_push variants have VAPID keys to renew')
  }
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const config = await renewVapid(variant.settings)
  const [updated] = await updateVariant(db, variant.id, {
    settings: config.settings,
    credentialsSealed: await seal(key, JSON.stringify(config.credentials), credentialsAad(variant)),
  })
  if (!updated) throw notFound('Variant')
  return c.json(await presentVariant(key, updated))
})
