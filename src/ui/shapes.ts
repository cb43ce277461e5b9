/**
 * The admin API's answers as the UI reads them: only the fields it shows, checked once when
 * they arrive (loose objects, so that the API may add fields without breaking a page).
 */
import { z } from 'zod'

const text = z.string().nullable().optional()

export const VariantType = z.enum(['android', 'ios_token', 'web_push'])
export type VariantType = z.infer<typeof VariantType>

export const Variant = z.looseObject({
  variantID: z.string(),
  secret: z.string(),
  name: z.string(),
  description: text,
  type: VariantType,
  projectId: text,
  clientEmail: text,
  projectNumber: text,
  keyId: text,
  teamId: text,
  bundleId: text,
  production: z.boolean().optional(),
  publicKey: text,
  alias: text,
})
export type Variant = z.infer<typeof Variant>

export const Application = z.looseObject({
  pushApplicationID: z.string(),
  masterSecret: z.string(),
  name: z.string(),
  description: text,
  variants: z.array(Variant),
})
export type Application = z.infer<typeof Application>

export const Installation = z.looseObject({
  id: z.string(),
  deviceToken: z.string(),
  alias: text,
  deviceType: text,
  operatingSystem: text,
  osVersion: text,
  platform: text,
  enabled: z.boolean(),
  categories: z.array(z.object({ name: z.string() })),
})
export type Installation = z.infer<typeof Installation>

export const JobVariant = z.looseObject({
  variantID: z.string(),
  type: z.string(),
  receivers: z.number(),
  delivered: z.number(),
  failed: z.number(),
  invalidTokens: z.number(),
  pending: z.number(),
  status: z.string(),
  reason: text,
  reasons: z.record(z.string(), z.number()),
})
export type JobVariant = z.infer<typeof JobVariant>

export const Job = z.looseObject({
  id: z.string(),
  pushApplicationId: z.string(),
  rawJsonMessage: z.string(),
  submitDate: z.number(),
  appOpenCounter: z.number(),
  totalReceivers: z.number(),
  status: z.string(),
  variants: z.array(JobVariant),
  applicationName: z.string().optional(),
})
export type Job = z.infer<typeof Job>

export const Totals = z.object({
  applications: z.number(),
  devices: z.number(),
  messages: z.number(),
})

export const Warning = z.looseObject({
  variantID: z.string(),
  name: z.string(),
  type: z.string(),
  pushApplicationID: z.string(),
  applicationName: z.string(),
  failed: z.number(),
  lastReason: text,
})
export type Warning = z.infer<typeof Warning>

const Stored = z.object({
  alert: z.string().nullable().optional(),
  criteria: z.record(z.string(), z.unknown()).optional(),
})

/** The alert of a job, from the `rawJsonMessage` the API keeps (alert and criteria only). */
export function alertOf(job: Pick<Job, 'rawJsonMessage'>): string | null {
  try {
    const parsed = Stored.safeParse(JSON.parse(job.rawJsonMessage))
    return parsed.success ? (parsed.data.alert ?? null) : null
  } catch {
    return null
  }
}

/** A number from a response header (`total`, `deviceCount_*`), 0 when absent. */
export function headerCount(headers: Headers, name: string): number {
  const value = Number(headers.get(name) ?? '0')
  return Number.isFinite(value) ? value : 0
}
