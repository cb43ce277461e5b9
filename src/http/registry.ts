/**
 * `/rest/registry/device`: what devices call, authenticated as their variant. Registration is an
 * upsert by (variant, token) that answers only once the row is stored; the importer validates
 * every row as a registration would and reports what it did with each.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { type DeviceEnv, requireDevice } from '../auth/device'
import { readConfig } from '../config'
import { openDb } from '../db/client'
import {
  deleteByTokenKey,
  existingTokenKeys,
  findByTokenKey,
  type InstallationInput,
  upsertInstallations,
} from '../db/installations'
import { countOpen } from '../db/metrics'
import type { VariantRow } from '../db/variants'
import { normaliseDeviceToken } from '../push/device-token'
import { ApiError, notFound } from './errors'
import { issueDetails, readJsonValue } from './input'
import { presentInstallation } from './installation-json'

/** Larger than the API-wide limit: an import carries many installations. */
export const IMPORT_MAX_BYTES = 5 * 1024 * 1024
export const IMPORT_MAX_ROWS = 1000

const text = (max: number) =>
  z
    .string()
    .max(max)
    .nullish()
    .transform((v) => (v === '' || v === undefined ? null : v))

export const Registration = z.strictObject({
  deviceToken: z.unknown().refine((v) => v !== undefined && v !== null, 'required'),
  alias: text(255),
  deviceType: text(64),
  operatingSystem: text(64),
  osVersion: text(64),
  platform: text(64),
  categories: z.array(z.string().trim().min(1).max(255)).max(50).nullish(),
  enabled: z.boolean().optional(),
})

type Checked =
  | { ok: true; device: InstallationInput }
  | { ok: false; details: Record<string, string> }

/** Validates one registration (a request body or an imported row) for this variant. */
async function checkRegistration(
  variant: VariantRow,
  value: unknown,
  allowInsecure: boolean,
): Promise<Checked> {
  const parsed = Registration.safeParse(value)
  if (!parsed.success) return { ok: false, details: issueDetails(parsed.error) }
  const input = parsed.data
  const token = await normaliseDeviceToken(variant.type, input.deviceToken, { allowInsecure })
  if (!token.ok) return { ok: false, details: { deviceToken: token.reason } }
  return {
    ok: true,
    device: {
      deviceToken: token.token,
      tokenKey: token.key,
      alias: input.alias,
      deviceType: input.deviceType,
      operatingSystem: input.operatingSystem,
      osVersion: input.osVersion,
      platform: input.platform,
      enabled: input.enabled ?? true,
      categories: [...new Set(input.categories ?? [])],
    },
  }
}

export const registryRoutes = new Hono<DeviceEnv>()

registryRoutes.use('*', requireDevice)

registryRoutes.post('/', async (c) => {
  const variant = c.var.variant
  const allowInsecure = readConfig(c.env).ALLOW_INSECURE_ENDPOINTS
  const checked = await checkRegistration(variant, await readJsonValue(c), allowInsecure)
  if (!checked.ok) throw new ApiError(400, 'Invalid registration', checked.details)

  // The previous token of a device whose token changed; one we cannot read matches nothing.
  const oldHeader = c.req.header('x-ag-old-token')
  const old = oldHeader
    ? await normaliseDeviceToken(variant.type, oldHeader, { allowInsecure })
    : null
  const removeKeys = old?.ok && old.key !== checked.device.tokenKey ? [old.key] : []

  const db = openDb(c.env)
  await upsertInstallations(db, variant.id, [checked.device], removeKeys)
  const stored = await findByTokenKey(db, variant.id, checked.device.tokenKey)
  if (!stored) throw new Error('registered installation not found after write')
  return c.json(presentInstallation(stored))
})

registryRoutes.delete('/:token{.+}', async (c) => {
  const variant = c.var.variant
  const allowInsecure = readConfig(c.env).ALLOW_INSECURE_ENDPOINTS
  const token = await normaliseDeviceToken(variant.type, c.req.param('token'), { allowInsecure })
  if (!token.ok) throw notFound('Installation')
  const deleted = await deleteByTokenKey(openDb(c.env), variant.id, token.key)
  if (deleted === 0) throw notFound('Installation')
  return c.body(null, 204)
})

const ImportFile = z.array(z.unknown()).max(IMPORT_MAX_ROWS)

// The body limit (IMPORT_MAX_BYTES) is applied with every other one, in app.ts.
registryRoutes.post('/importer', async (c) => {
  const variant = c.var.variant
  const rows = await readImportFile(c.req.raw)
  const allowInsecure = readConfig(c.env).ALLOW_INSECURE_ENDPOINTS

  const devices = new Map<string, InstallationInput>()
  const errors: { index: number; details: Record<string, string> }[] = []
  for (const [index, row] of rows.entries()) {
    const checked = await checkRegistration(variant, row, allowInsecure)
    if (checked.ok) devices.set(checked.device.tokenKey, checked.device)
    else errors.push({ index, details: checked.details })
  }

  const db = openDb(c.env)
  const existing = await existingTokenKeys(db, variant.id, [...devices.keys()])
  await upsertInstallations(db, variant.id, [...devices.values()])
  // Every row is counted once, as if registered in file order: a token repeated in the file
  // is imported by its first row and updated by each later one (the last row wins).
  const imported = devices.size - existing.size
  return c.json({
    imported,
    updated: rows.length - errors.length - imported,
    rejected: errors.length,
    errors: errors.slice(0, 100),
  })
})

/** The `file` part of a multipart body, as a JSON array of installations. */
async function readImportFile(request: Request): Promise<unknown[]> {
  let form: FormData
  try {
    form = await request.formData()
  } catch {
    throw new ApiError(400, 'The import must be multipart/form-data with a part named file')
  }
  const file = form.get('file')
  if (file === null) {
    throw new ApiError(400, 'Invalid import', { file: 'required: a JSON array of installations' })
  }
  const content = typeof file === 'string' ? file : await file.text()
  let value: unknown
  try {
    value = JSON.parse(content)
  } catch {
    throw new ApiError(400, 'Invalid import', { file: 'is not valid JSON' })
  }
  const parsed = ImportFile.safeParse(value)
  if (!parsed.success) {
    throw new ApiError(400, 'Invalid import', {
      file: `must be a JSON array of at most ${IMPORT_MAX_ROWS} installations`,
    })
  }
  return parsed.data
}

/** An "app opened" for a push message, counted only for a message of this variant's application. */
registryRoutes.put('/pushMessage/:pushMessageId', async (c) => {
  const variant = c.var.variant
  const found = await countOpen(
    openDb(c.env),
    c.req.param('pushMessageId'),
    variant.applicationId,
    Date.now(),
  )
  if (!found) throw notFound('Push message')
  return c.json({})
})
