/**
 * What each variant type takes and shows. A variant keeps two kinds of data: public settings
 * (shown to operators) and write-only credentials (sealed, never shown again). This module turns
 * admin input into both, checking the credentials with each network's own rules, and turns a
 * stored variant back into its UPS JSON shape.
 */
import { z } from 'zod'
import { checkApnsCredentials } from '../../networks/apns/signing-key'
import { parseServiceAccount } from '../../networks/fcm/service-account'
import {
  checkVapidPair,
  checkVapidSubject,
  generateVapidKeys,
} from '../../networks/webpush/vapid-keys'
import { ApiError, type Details } from '../errors'
import { parseOr400 } from '../input'

export const VARIANT_TYPES = ['android', 'ios_token', 'web_push'] as const
export type VariantType = (typeof VARIANT_TYPES)[number]

/** Path segments and `type` values UPS clients use, mapped to our types. */
const TYPE_NAMES: Record<string, VariantType | 'ios'> = {
  android: 'android',
  ios_token: 'ios_token',
  iostoken: 'ios_token',
  web_push: 'web_push',
  webpush: 'web_push',
  ios: 'ios',
}

// Own keys only: a segment such as `constructor` must not find Object.prototype's members.
const typeName = (name: string) => (Object.hasOwn(TYPE_NAMES, name) ? TYPE_NAMES[name] : undefined)

/** Resolves a path segment to a variant type; `ios` (certificates) is refused with a pointer. */
export function variantTypeOf(segment: string): VariantType | null {
  const type = typeName(segment)
  if (type === 'ios') {
    throw new ApiError(400, 'Certificate-based iOS variants are not supported: use ios_token', {
      type:
        'a Worker cannot present a per-tenant TLS client certificate; create an ios_token ' +
        'variant with the .p8 signing key from Apple Developer instead',
    })
  }
  return type ?? null
}

export type Settings = Record<string, unknown>
export type Credentials = Record<string, unknown>
export type VariantConfig = { settings: Settings; credentials: Credentials }

const common = {
  name: z.string().trim().min(1).max(255),
  description: z.string().max(1024).nullish(),
  developer: z.string().max(255).nullish(),
  secret: z.string().min(16).max(255).optional(),
  type: z.string().optional(),
}

const androidFields = {
  serviceAccount: z.union([z.string(), z.record(z.string(), z.unknown())]),
  projectNumber: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]),
  googleKey: z.unknown(),
}

const iosTokenFields = {
  privateKey: z.string().min(1).max(10_000),
  keyId: z.string(),
  teamId: z.string(),
  bundleId: z.string().regex(/^[A-Za-z0-9.-]{1,255}$/, 'a bundle id such as com.example.app'),
  production: z.boolean(),
}

const webPushFields = {
  publicKey: z.string().min(1).max(200),
  privateKey: z.string().min(1).max(200),
  alias: z.string().min(1).max(1024),
}

export const createSchemas = {
  android: z
    .strictObject({ ...common, ...androidFields })
    .partial({ serviceAccount: true, projectNumber: true, googleKey: true }),
  ios_token: z.strictObject({ ...common, ...iosTokenFields }).partial({ production: true }),
  web_push: z
    .strictObject({ ...common, ...webPushFields })
    .partial({ publicKey: true, privateKey: true }),
}

export const updateSchemas = {
  android: z.strictObject({ ...common, ...androidFields }).partial(),
  ios_token: z.strictObject({ ...common, ...iosTokenFields }).partial(),
  web_push: z.strictObject({ ...common, ...webPushFields }).partial(),
}

export type VariantInput = {
  name?: string | undefined
  description?: string | null | undefined
  developer?: string | null | undefined
  secret?: string | undefined
  type?: string | undefined
  [field: string]: unknown
}

/** Validates a create (`partial: false`) or update body for the type named by the path. */
export function parseVariantInput(type: VariantType, body: unknown, partial: boolean) {
  const schema = partial ? updateSchemas[type] : createSchemas[type]
  const input: VariantInput = parseOr400(schema, body, 'Invalid variant')
  if (input.type !== undefined && typeName(input.type) !== type) {
    throw new ApiError(400, 'Invalid variant', { type: `must be ${type} on this path` })
  }
  return input
}

const refused = (details: Details) => new ApiError(400, 'Invalid variant credentials', details)

/**
 * Builds settings and credentials from input, on top of the stored ones for an update. Every
 * credential given is checked before anything is written.
 */
export async function buildVariantConfig(
  type: VariantType,
  input: VariantInput,
  stored: VariantConfig | null,
  opts: { allowInsecure: boolean },
): Promise<VariantConfig> {
  const base = stored ?? { settings: {}, credentials: {} }
  switch (type) {
    case 'android':
      return androidConfig(input, base, stored === null, opts)
    case 'ios_token':
      return iosTokenConfig(input, base, stored === null)
    case 'web_push':
      return webPushConfig(input, base, stored === null)
  }
}

async function androidConfig(
  input: VariantInput,
  base: VariantConfig,
  creating: boolean,
  opts: { allowInsecure: boolean },
): Promise<VariantConfig> {
  if (input.googleKey !== undefined) {
    throw new ApiError(
      400,
      'Legacy FCM server keys (googleKey) no longer work: give serviceAccount, the ' +
        'service-account JSON from Firebase console > Project settings > Service accounts',
      {
        googleKey: 'the legacy FCM API was shut down; this field is not accepted',
        serviceAccount: 'required: the service-account JSON key file, as an object or as text',
      },
    )
  }
  const settings = { ...base.settings }
  if (input.projectNumber !== undefined) settings.projectNumber = String(input.projectNumber)
  if (input.serviceAccount === undefined) {
    if (creating) throw refused({ serviceAccount: 'required: the service-account JSON' })
    return { settings, credentials: base.credentials }
  }
  const parsed = await parseServiceAccount(input.serviceAccount, opts)
  if (!parsed.ok) throw refused(parsed.details)
  settings.projectId = parsed.value.project_id
  settings.clientEmail = parsed.value.client_email
  return { settings, credentials: { serviceAccount: parsed.value } }
}

async function iosTokenConfig(
  input: VariantInput,
  base: VariantConfig,
  creating: boolean,
): Promise<VariantConfig> {
  const settings: Settings = { production: false, ...base.settings }
  for (const field of ['keyId', 'teamId', 'bundleId', 'production'] as const) {
    if (input[field] !== undefined) settings[field] = input[field]
  }
  let privateKey = input.privateKey ?? base.credentials.privateKey
  if (creating || input.privateKey !== undefined || input.keyId !== undefined) {
    const checked = await checkApnsCredentials({
      privateKey: String(privateKey ?? ''),
      keyId: String(settings.keyId ?? ''),
      teamId: String(settings.teamId ?? ''),
    })
    if (!checked.ok) throw refused(checked.details)
    // Store the key as checked (trimmed): the signer needs the PEM header at offset 0.
    privateKey = checked.value.privateKey
  } else if (input.teamId !== undefined && !/^[A-Z0-9]{10}$/.test(String(input.teamId))) {
    throw refused({ teamId: 'must be the 10-character Team ID from Apple Developer' })
  }
  return { settings, credentials: { privateKey } }
}

async function webPushConfig(
  input: VariantInput,
  base: VariantConfig,
  creating: boolean,
): Promise<VariantConfig> {
  const settings = { ...base.settings }
  if (input.alias !== undefined) {
    // The subject is checked trimmed, so it is stored trimmed: it becomes the JWT's `sub`.
    const alias = String(input.alias).trim()
    const problem = checkVapidSubject(alias)
    if (problem) throw refused({ alias: problem })
    settings.alias = alias
  }
  const { publicKey, privateKey } = input
  if (publicKey === undefined && privateKey === undefined) {
    if (!creating) return { settings, credentials: base.credentials }
    const pair = await generateVapidKeys()
    settings.publicKey = pair.publicKey
    return { settings, credentials: { privateKey: pair.privateKey } }
  }
  if (typeof publicKey !== 'string' || typeof privateKey !== 'string') {
    const missing = publicKey === undefined ? 'publicKey' : 'privateKey'
    throw refused({ [missing]: 'give both keys of the VAPID pair, or neither to generate one' })
  }
  if (!(await checkVapidPair(publicKey, privateKey))) {
    throw refused({ privateKey: 'does not match publicKey (or is not a P-256 VAPID key)' })
  }
  settings.publicKey = publicKey
  return { settings, credentials: { privateKey } }
}

/** A fresh VAPID pair for `renew`: existing browser subscriptions stop working. */
export async function renewVapid(settings: Settings): Promise<VariantConfig> {
  const pair = await generateVapidKeys()
  return {
    settings: { ...settings, publicKey: pair.publicKey },
    credentials: { privateKey: pair.privateKey },
  }
}

/** The fields each type shows besides the common ones: never a credential. */
export function publicFields(type: VariantType, settings: Settings): Record<string, unknown> {
  switch (type) {
    case 'android':
      return {
        projectId: settings.projectId ?? null,
        clientEmail: settings.clientEmail ?? null,
        projectNumber: settings.projectNumber ?? null,
      }
    case 'ios_token':
      return {
        keyId: settings.keyId ?? null,
        teamId: settings.teamId ?? null,
        bundleId: settings.bundleId ?? null,
        production: settings.production === true,
      }
    case 'web_push':
      return { publicKey: settings.publicKey ?? null, alias: settings.alias ?? null }
  }
}
