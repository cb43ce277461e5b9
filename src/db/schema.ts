/**
 * The D1 schema: every table Pushgate uses, including the ones the send pipeline fills, so that
 * later work adds code rather than migrations. Times are Unix milliseconds. Ids are UUIDs made by
 * the Worker. Foreign keys cascade so deleting an application removes everything under it.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

const createdAt = () =>
  integer('created_at', { mode: 'number' }).notNull().default(sql`(unixepoch('subsec') * 1000)`)

export const applications = sqliteTable('applications', {
  id: text('id').primaryKey(),
  pushApplicationId: text('push_application_id').notNull().unique(),
  name: text('name').notNull(),
  description: text('description'),
  developer: text('developer'),
  /** SHA-256 (hex) of the master secret: the secret itself is shown once and never stored. */
  masterSecretHash: text('master_secret_hash').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
})

export const variants = sqliteTable(
  'variants',
  {
    id: text('id').primaryKey(),
    variantId: text('variant_id').notNull().unique(),
    applicationId: text('application_id')
      .notNull()
      .references(() => applications.id, { onDelete: 'cascade' }),
    type: text('type', { enum: ['android', 'ios_token', 'web_push'] }).notNull(),
    name: text('name').notNull(),
    description: text('description'),
    developer: text('developer'),
    /** The secret devices register with, sealed with AES-GCM: operators must be able to read it. */
    secretSealed: text('secret_sealed').notNull(),
    /** Public settings of the network (JSON): projectId, keyId, bundleId, VAPID public key... */
    settings: text('settings', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    /** Write-only credentials (JSON, sealed): service account, .p8 key, VAPID private key. */
    credentialsSealed: text('credentials_sealed').notNull(),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('variants_application_idx').on(t.applicationId, t.type)],
)

export const installations = sqliteTable(
  'installations',
  {
    id: text('id').primaryKey(),
    variantId: text('variant_id')
      .notNull()
      .references(() => variants.id, { onDelete: 'cascade' }),
    /** The canonical token as stored and sent (for Web Push: the subscription as JSON). */
    deviceToken: text('device_token').notNull(),
    /** What makes a device unique in its variant: the token, or a Web Push endpoint. */
    tokenKey: text('token_key').notNull(),
    alias: text('alias'),
    deviceType: text('device_type'),
    operatingSystem: text('operating_system'),
    osVersion: text('os_version'),
    platform: text('platform'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    createdAt: createdAt(),
    /** Last registration: APNs only prunes a device unregistered after this moment. */
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('installations_variant_token_uq').on(t.variantId, t.tokenKey),
    // Keyset paging of a variant's audience: WHERE variant_id = ? AND enabled AND id > ?
    index('installations_audience_idx').on(t.variantId, t.enabled, t.id),
    index('installations_alias_idx').on(t.variantId, t.alias),
    index('installations_device_type_idx').on(t.variantId, t.deviceType),
  ],
)

export const categories = sqliteTable('categories', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
})

export const installationCategories = sqliteTable(
  'installation_categories',
  {
    installationId: text('installation_id')
      .notNull()
      .references(() => installations.id, { onDelete: 'cascade' }),
    categoryId: integer('category_id')
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.installationId, t.categoryId] }),
    // Selection by category: from the category to the installations that carry it.
    index('installation_categories_category_idx').on(t.categoryId, t.installationId),
  ],
)

/** One send request: what was asked, by whom, and its open counters. */
export const pushJobs = sqliteTable(
  'push_jobs',
  {
    id: text('id').primaryKey(),
    applicationId: text('application_id')
      .notNull()
      .references(() => applications.id, { onDelete: 'cascade' }),
    /** Alert and criteria only, never user-data: this is what the metrics API shows. */
    rawJsonMessage: text('raw_json_message').notNull(),
    /** The whole message for the pipeline; cleared when the job completes. */
    payload: text('payload'),
    ipAddress: text('ip_address'),
    clientIdentifier: text('client_identifier'),
    submitDate: integer('submit_date', { mode: 'number' }).notNull(),
    totalReceivers: integer('total_receivers').notNull().default(0),
    appOpenCounter: integer('app_open_counter').notNull().default(0),
    firstOpenDate: integer('first_open_date', { mode: 'number' }),
    lastOpenDate: integer('last_open_date', { mode: 'number' }),
    status: text('status', { enum: ['queued', 'sending', 'done', 'failed'] })
      .notNull()
      .default('queued'),
  },
  (t) => [
    index('push_jobs_application_idx').on(t.applicationId, t.submitDate),
    index('push_jobs_submit_idx').on(t.submitDate),
  ],
)

/** Per (job, variant) counters: receivers = delivered + failed + invalidTokens + pending. */
export const jobVariants = sqliteTable(
  'job_variants',
  {
    jobId: text('job_id')
      .notNull()
      .references(() => pushJobs.id, { onDelete: 'cascade' }),
    variantId: text('variant_id')
      .notNull()
      .references(() => variants.id, { onDelete: 'cascade' }),
    receivers: integer('receivers').notNull().default(0),
    delivered: integer('delivered').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    invalidTokens: integer('invalid_tokens').notNull().default(0),
    pending: integer('pending').notNull().default(0),
    /** The planner has paged through the whole audience. */
    planned: integer('planned', { mode: 'boolean' }).notNull().default(false),
    planCursor: text('plan_cursor'),
    reason: text('reason'),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.variantId] })],
)

/** Why messages failed, counted per (job, variant, reason): `payload_too_large`, ... */
export const jobReasons = sqliteTable(
  'job_reasons',
  {
    jobId: text('job_id')
      .notNull()
      .references(() => pushJobs.id, { onDelete: 'cascade' }),
    variantId: text('variant_id').notNull(),
    reason: text('reason').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.variantId, t.reason] })],
)

/**
 * Deliver batches whose outcome was applied. Queues deliver at least once; a batch id found here
 * is acknowledged without counting it again.
 */
export const appliedBatches = sqliteTable(
  'applied_batches',
  {
    batchId: text('batch_id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => pushJobs.id, { onDelete: 'cascade' }),
    appliedAt: integer('applied_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('applied_batches_job_idx').on(t.jobId)],
)

/**
 * Tokens minted for a network credential and shared by every isolate: the APNs provider JWT
 * (Apple refuses fleets that mint their own) and the FCM OAuth access token.
 */
export const providerTokens = sqliteTable('provider_tokens', {
  /** `apns:<teamId>:<keyId>:<key hash>` or `fcm:<client_email>:<key hash>`: see provider-token.ts, oauth.ts */
  key: text('key').primaryKey(),
  tokenSealed: text('token_sealed').notNull(),
  issuedAt: integer('issued_at', { mode: 'number' }).notNull(),
  expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
})

/** `Idempotency-Key` of a send: the same key from the same application returns the first job. */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    applicationId: text('application_id')
      .notNull()
      .references(() => applications.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    jobId: text('job_id').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.applicationId, t.key] }),
    index('idempotency_keys_created_idx').on(t.createdAt),
  ],
)
