/**
 * The shared parts of the OpenAPI document: the shapes the Worker answers with, the error shape,
 * headers, query parameters and the three credentials. Answers are written by hand from the
 * presenters (`present.ts`, `installation-json.ts`, `metrics.ts`); credentials never appear in
 * them, because the presenters never return them.
 */
import { VARIANT_TYPES, type VariantType } from './admin/variant-types'
import { type JsonObject, VARIANT_SCHEMA_NAMES } from './openapi-bodies'

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

const str = { type: 'string' }
const count = { type: 'integer', minimum: 0 }
const nullable = (type: string, description?: string) => ({
  type: [type, 'null'],
  ...(description && { description }),
})
const millis = (what: string) => ({ type: 'integer', description: `${what}, ms since the epoch` })
const arrayOf = (items: JsonObject, description?: string) => ({
  type: 'array',
  items,
  ...(description && { description }),
})

/** An answer object: the presenters always write every key, so all are required. */
function answer(properties: Record<string, JsonObject>, description?: string): JsonObject {
  return {
    type: 'object',
    ...(description && { description }),
    properties,
    required: Object.keys(properties),
  }
}

const variantCommon = {
  id: str,
  variantID: { type: 'string', description: 'The id devices authenticate with.' },
  secret: { type: 'string', description: 'The secret devices authenticate with.' },
  name: str,
  description: nullable('string'),
  developer: nullable('string'),
}

const variantFields: Record<VariantType, Record<string, JsonObject>> = {
  android: {
    projectId: nullable('string', 'From the service account.'),
    clientEmail: nullable('string', 'From the service account.'),
    projectNumber: nullable('string'),
  },
  ios_token: {
    keyId: nullable('string'),
    teamId: nullable('string'),
    bundleId: nullable('string', 'The APNs topic.'),
    production: { type: 'boolean' },
  },
  web_push: {
    publicKey: nullable('string', 'The VAPID public key browsers subscribe with.'),
    alias: nullable('string', 'The VAPID subject.'),
  },
}

function variantSchemas(): Record<string, JsonObject> {
  const schemas: Record<string, JsonObject> = {}
  const mapping: Record<string, string> = {}
  for (const type of VARIANT_TYPES) {
    const name = `${VARIANT_SCHEMA_NAMES[type]}Variant`
    const fields = { ...variantCommon, type: { const: type }, ...variantFields[type] }
    schemas[name] = answer(fields, `A ${type} variant; its credentials are never shown.`)
    mapping[type] = ref(name).$ref
  }
  const Variant = {
    oneOf: Object.values(mapping).map(($ref) => ({ $ref })),
    discriminator: { propertyName: 'type', mapping },
  }
  return { ...schemas, Variant }
}

const JobVariant = answer({
  variantID: str,
  type: { type: 'string', enum: [...VARIANT_TYPES] },
  receivers: { ...count, description: 'delivered + failed + invalidTokens + pending' },
  delivered: count,
  failed: count,
  invalidTokens: count,
  pending: count,
  status: { type: 'string', enum: ['sending', 'done'] },
  reason: nullable('string', 'The latest failure reason.'),
  reasons: { type: 'object', additionalProperties: count, description: 'Failures by reason.' },
})

const jobFields = {
  id: { type: 'string', description: 'The push message id.' },
  pushApplicationId: str,
  rawJsonMessage: { type: 'string', description: 'JSON text: the alert and the criteria.' },
  ipAddress: nullable('string'),
  clientIdentifier: nullable('string'),
  submitDate: millis('When the send was accepted'),
  appOpenCounter: count,
  firstOpenDate: nullable('integer'),
  lastOpenDate: nullable('integer'),
  totalReceivers: count,
  status: { type: 'string', enum: ['queued', 'sending', 'done', 'failed'] },
  variants: arrayOf(ref('JobVariant')),
}

const healthCheck = answer({
  description: str,
  test_status: { type: 'string', enum: ['ok', 'warn', 'crit'] },
  result: str,
  runtime: { ...count, description: 'Milliseconds.' },
})

/** Every answer schema, by its name under `components.schemas`. */
export function responseSchemas(): Record<string, JsonObject> {
  return {
    Error: {
      type: 'object',
      properties: {
        message: str,
        details: {
          type: 'object',
          additionalProperties: str,
          description: 'What is wrong, by field path (`(body)` for the body as a whole).',
        },
      },
      required: ['message'],
    },
    Application: answer({
      id: str,
      pushApplicationID: { type: 'string', description: 'The id backends send with.' },
      masterSecret: {
        type: 'string',
        description: 'In full only in the answers of create and reset; `********` elsewhere.',
      },
      name: str,
      description: nullable('string'),
      developer: nullable('string'),
      variants: arrayOf(ref('Variant')),
    }),
    ...variantSchemas(),
    VariantCounts: {
      type: 'object',
      additionalProperties: count,
      description:
        'Installations per variant type (`android`, `ios_token`, `web_push`, always present) ' +
        'and per variantID.',
    },
    Installation: answer({
      id: str,
      deviceToken: { type: 'string', description: 'As stored, after normalisation.' },
      alias: nullable('string'),
      deviceType: nullable('string'),
      operatingSystem: nullable('string'),
      osVersion: nullable('string'),
      platform: nullable('string'),
      enabled: { type: 'boolean' },
      categories: arrayOf(answer({ name: str })),
    }),
    ImportResult: answer({
      imported: count,
      updated: count,
      rejected: count,
      errors: arrayOf(
        answer({ index: count, details: { type: 'object', additionalProperties: str } }),
        'The first 100 rejected rows, by index in the file.',
      ),
    }),
    Accepted: answer({ id: { type: 'string', description: 'The push message id.' } }),
    JobVariant,
    Job: answer(jobFields, 'A send and its delivery progress per variant.'),
    ActiveJob: answer({ ...jobFields, applicationName: str }),
    VariantWarning: answer({
      variantID: str,
      name: str,
      type: { type: 'string', enum: [...VARIANT_TYPES] },
      pushApplicationID: str,
      applicationName: str,
      failed: { ...count, description: 'Failed devices over the last 7 days.' },
      lastReason: nullable('string'),
    }),
    Dashboard: answer({ applications: count, devices: count, messages: count }),
    Health: answer({
      status: { type: 'string', enum: ['ok', 'warn', 'crit'] },
      summary: str,
      details: arrayOf(healthCheck),
    }),
  }
}

const header = (description: string, schema: JsonObject = str) => ({ description, schema })

export const headers = {
  total: header('How many items there are in all pages.', { type: 'integer', minimum: 0 }),
  Link: header('RFC 8288 links to the first, prev, next and last pages.'),
  Location: header('Where the created resource can be read.'),
  receivers: header('Devices targeted by all matching jobs.', { type: 'integer', minimum: 0 }),
  appOpenedCounter: header('App opens counted for all matching jobs.', {
    type: 'integer',
    minimum: 0,
  }),
  WWWAuthenticate: header('`Bearer realm="pushgate"` or `Basic realm="pushgate"`.'),
  RetryAfter: header('Seconds to wait before trying again.', { type: 'integer' }),
  ContentDisposition: header('`attachment; filename="installations-<variantID>.json"`.'),
}

const errorContent = { 'application/json': { schema: ref('Error') } }
const error = (description: string, extra: JsonObject = {}) => ({
  description,
  ...extra,
  content: errorContent,
})

export const responses = {
  BadRequest: error('Malformed JSON, unknown fields, wrong types or values; `details` says which.'),
  Unauthorized: error('Missing or wrong credentials: `{"message":"Unauthorized Request"}`.', {
    headers: { 'WWW-Authenticate': { $ref: '#/components/headers/WWWAuthenticate' } },
  }),
  NotFound: error('Not found, or not owned by the resource in the path.'),
  Conflict: error('The id is taken.'),
  PayloadTooLarge: error('The body is larger than this route accepts.'),
}

const query = (name: string, description: string, schema: JsonObject) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
})

export const parameters = {
  page: query('page', 'Page number, from 0.', {
    type: 'integer',
    minimum: 0,
    maximum: 1_000_000,
    default: 0,
  }),
  search: query('search', 'Case-insensitive substring to match.', {
    type: 'string',
    maxLength: 256,
  }),
  includeDeviceCount: query(
    'includeDeviceCount',
    'Add `deviceCount_app_<pushApplicationID>` and `deviceCount_variant_<variantID>` headers.',
    { type: 'boolean', default: false },
  ),
  includeActivity: query(
    'includeActivity',
    'Add `activity_app_<pushApplicationID>` and `activity_variant_<variantID>` headers.',
    { type: 'boolean', default: false },
  ),
  sort: query('sort', 'By submit date.', {
    type: 'string',
    enum: ['asc', 'desc'],
    default: 'desc',
  }),
  count: query('count', 'How many of the latest jobs.', {
    type: 'integer',
    minimum: 1,
    maximum: 50,
    default: 3,
  }),
}

/**
 * `per_page` differs per route. Above the maximum it is clamped rather than refused, as UPS does
 * (its clients ask for more), so the maximum is stated in words: a schema `maximum` would make a
 * validating client or gateway refuse requests the Worker serves.
 */
export const perPage = (fallback: number, max: number) =>
  query('per_page', `Page size; at most ${max} (larger values are clamped to ${max}).`, {
    type: 'integer',
    minimum: 1,
    default: fallback,
  })

export const securitySchemes = {
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The operator: `Authorization: Bearer <ADMIN_TOKEN>`.',
  },
  deviceBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'A device: HTTP Basic `variantID:secret`.',
  },
  senderBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'A backend: HTTP Basic `pushApplicationID:masterSecret`.',
  },
}
