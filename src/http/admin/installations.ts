/**
 * Installations as operators see them: `/rest/applications/{variantID}/installations` (search,
 * read, edit, delete) and `/rest/export/{variantID}/installations/`, which streams every
 * installation of a variant as one JSON array, page by page, without holding it in memory.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { type Db, openDb } from '../../db/client'
import {
  deleteInstallation,
  editInstallation,
  findInstallation,
  installationsAfter,
  searchInstallations,
} from '../../db/installations'
import { findVariant } from '../../db/variants'
import { ApiError, notFound } from '../errors'
import { readJson } from '../input'
import { presentInstallation } from '../installation-json'
import { readPaging, setPageHeaders } from '../paging'
import type { AppEnv } from '../types'

const text = (max: number) => z.string().max(max).nullable().optional()

export const UpdateInstallation = z.strictObject({
  alias: text(255),
  deviceType: text(64),
  operatingSystem: text(64),
  osVersion: text(64),
  platform: text(64),
  enabled: z.boolean().optional(),
  categories: z
    .array(
      z.union([
        z.string().trim().min(1).max(255),
        z.strictObject({ name: z.string().trim().min(1).max(255) }),
      ]),
    )
    .max(50)
    .optional(),
  // The installation as GET returned it may be sent back whole; these must not change.
  id: z.string().optional(),
  deviceToken: z.unknown().optional(),
})

async function mustFindVariant(db: Db, variantId: string) {
  const variant = await findVariant(db, variantId)
  if (!variant) throw notFound('Variant')
  return variant
}

export const installationRoutes = new Hono<AppEnv>()

installationRoutes.get('/:variantID/installations', async (c) => {
  const paging = readPaging(c, { perPage: 25, maxPerPage: 50 })
  const db = openDb(c.env)
  const variant = await mustFindVariant(db, c.req.param('variantID'))
  const { total, items } = await searchInstallations(db, variant.id, paging)
  setPageHeaders(c, paging, total)
  return c.json(items.map(presentInstallation))
})

installationRoutes.get('/:variantID/installations/:id', async (c) => {
  const db = openDb(c.env)
  const variant = await mustFindVariant(db, c.req.param('variantID'))
  const found = await findInstallation(db, variant.id, c.req.param('id'))
  if (!found) throw notFound('Installation')
  return c.json(presentInstallation(found))
})

installationRoutes.put('/:variantID/installations/:id', async (c) => {
  const input = await readJson(c, UpdateInstallation)
  const db = openDb(c.env)
  const variant = await mustFindVariant(db, c.req.param('variantID'))
  const found = await findInstallation(db, variant.id, c.req.param('id'))
  if (!found) throw notFound('Installation')
  if (input.id !== undefined && input.id !== found.id) {
    throw new ApiError(400, 'Invalid request body', { id: 'cannot be changed' })
  }
  if (input.deviceToken !== undefined && input.deviceToken !== found.deviceToken) {
    throw new ApiError(400, 'Invalid request body', {
      deviceToken: 'cannot be changed: the device registers its new token itself',
    })
  }
  const pick = <T>(given: T | undefined, stored: T) => (given === undefined ? stored : given)
  await editInstallation(db, variant.id, {
    deviceToken: found.deviceToken,
    tokenKey: found.tokenKey,
    alias: pick(input.alias, found.alias),
    deviceType: pick(input.deviceType, found.deviceType),
    operatingSystem: pick(input.operatingSystem, found.operatingSystem),
    osVersion: pick(input.osVersion, found.osVersion),
    platform: pick(input.platform, found.platform),
    enabled: pick(input.enabled, found.enabled),
    categories:
      input.categories?.map((c) => (typeof c === 'string' ? c : c.name)) ?? found.categories,
  })
  return c.body(null, 204)
})

installationRoutes.delete('/:variantID/installations/:id', async (c) => {
  const db = openDb(c.env)
  const variant = await mustFindVariant(db, c.req.param('variantID'))
  const deleted = await deleteInstallation(db, variant.id, c.req.param('id'))
  if (deleted === 0) throw notFound('Installation')
  return c.body(null, 204)
})

const EXPORT_PAGE = 500

export const exportRoutes = new Hono<AppEnv>()

exportRoutes.get('/:variantID/installations', async (c) => {
  const db = openDb(c.env)
  const variant = await mustFindVariant(db, c.req.param('variantID'))
  const encoder = new TextEncoder()
  let afterId = ''
  let first = true
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('['))
    },
    async pull(controller) {
      const page = await installationsAfter(db, variant.id, afterId, EXPORT_PAGE)
      for (const row of page) {
        controller.enqueue(
          encoder.encode((first ? '' : ',') + JSON.stringify(presentInstallation(row))),
        )
        first = false
      }
      const last = page.at(-1)
      if (page.length < EXPORT_PAGE || !last) {
        controller.enqueue(encoder.encode(']'))
        controller.close()
        return
      }
      afterId = last.id
    },
  })
  c.header('Content-Type', 'application/json; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="installations-${variant.variantId}.json"`)
  return c.body(stream)
})
