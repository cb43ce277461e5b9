/**
 * `GET /openapi.json`: the HTTP contract (docs: shared API.md) as an OpenAPI 3.1 document. Request
 * bodies come from the zod validators the routes use; paths and answers are written here, and a
 * test walks the router so that no route is missing from the document or only in it. Served
 * without auth: it describes the API and holds no secret. Built once per isolate.
 */
import type { Context } from 'hono'
import { version } from '../../package.json'
import { type JsonObject, requestBodySchemas } from './openapi-bodies'
import {
  headers,
  parameters,
  perPage,
  ref,
  responseSchemas,
  responses,
  securitySchemes,
} from './openapi-components'
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS } from './registry'

type Audience = 'public' | 'admin' | 'device' | 'sender'

const SECURITY: Record<Audience, JsonObject[]> = {
  public: [],
  admin: [{ adminToken: [] }],
  device: [{ deviceBasic: [] }],
  sender: [{ senderBasic: [] }],
}

type OperationSpec = {
  id: string
  tag: string
  summary: string
  description?: string
  audience: Audience
  parameters?: JsonObject[]
  body?: JsonObject
  responses: Record<string, JsonObject>
}

const shared = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` })
const header = (name: keyof typeof headers) => ({ $ref: `#/components/headers/${name}` })

/** Adds what every operation of its kind answers: 401 behind auth, 400 and 413 with a body. */
function operation(spec: OperationSpec): JsonObject {
  const answers: Record<string, JsonObject> = { ...spec.responses }
  if (spec.body) {
    answers['400'] ??= shared('BadRequest')
    answers['413'] = shared('PayloadTooLarge')
  }
  if (spec.audience !== 'public') answers['401'] = shared('Unauthorized')
  return {
    operationId: spec.id,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    security: SECURITY[spec.audience],
    ...(spec.parameters && { parameters: spec.parameters }),
    ...(spec.body && { requestBody: spec.body }),
    responses: answers,
  }
}

const jsonBody = (schema: JsonObject, description?: string) => ({
  required: true,
  ...(description && { description }),
  content: { 'application/json': { schema } },
})

const json = (description: string, schema: JsonObject, headerRefs: JsonObject = {}) => ({
  description,
  ...(Object.keys(headerRefs).length > 0 && { headers: headerRefs }),
  content: { 'application/json': { schema } },
})

const list = (name: string) => ({ type: 'array', items: ref(name) })
const noContent = (description: string) => ({ description })
const pathParam = (name: string, description: string, schema: JsonObject = { type: 'string' }) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
})

const pushAppID = pathParam('pushAppID', 'The pushApplicationID.')
const variantID = pathParam('variantID', 'The variantID.')
const variantType = pathParam(
  'type',
  'The variant type; `iostoken` and `webpush` are aliases. `ios` (certificates) is refused ' +
    'with 400 pointing to `ios_token`; any other value is 404.',
  { type: 'string', enum: ['android', 'ios_token', 'iostoken', 'web_push', 'webpush'] },
)

const countHeaders =
  'With `includeDeviceCount=true`, headers `deviceCount_app_<pushApplicationID>` and ' +
  '`deviceCount_variant_<variantID>`; with `includeActivity=true`, `activity_app_<id>` and ' +
  '`activity_variant_<variantID>` (messages sent).'

function systemPaths() {
  return {
    '/openapi.json': {
      get: operation({
        id: 'getOpenApi',
        tag: 'System',
        summary: 'This document',
        audience: 'public',
        responses: { 200: json('The contract as OpenAPI 3.1.', { type: 'object' }) },
      }),
    },
    '/rest/sys/info/ping': {
      get: operation({
        id: 'ping',
        tag: 'System',
        summary: 'Liveness',
        audience: 'public',
        responses: {
          200: { description: '`OK`', content: { 'text/plain': { schema: { const: 'OK' } } } },
        },
      }),
    },
    '/rest/sys/info/health': {
      get: operation({
        id: 'health',
        tag: 'System',
        summary: 'Health of the database and the queue binding',
        audience: 'public',
        responses: {
          200: json('Every check is ok.', ref('Health')),
          503: json('A dependency is unavailable.', ref('Health')),
        },
      }),
    },
  }
}

function applicationPaths() {
  const withCounts = [parameters.includeDeviceCount, parameters.includeActivity]
  return {
    '/rest/applications': {
      post: operation({
        id: 'createApplication',
        tag: 'Applications',
        summary: 'Create an application',
        audience: 'admin',
        body: jsonBody(ref('ApplicationCreate')),
        responses: {
          201: json(
            'Created; the only answer but reset that shows the masterSecret.',
            ref('Application'),
            {
              Location: header('Location'),
            },
          ),
          409: shared('Conflict'),
        },
      }),
      get: operation({
        id: 'listApplications',
        tag: 'Applications',
        summary: 'List applications',
        audience: 'admin',
        parameters: [parameters.page, perPage(8, 25), ...withCounts],
        responses: {
          200: json(`One page of applications. ${countHeaders}`, list('Application'), {
            total: header('total'),
            Link: header('Link'),
          }),
          400: shared('BadRequest'),
        },
      }),
    },
    '/rest/applications/{pushAppID}': {
      parameters: [pushAppID],
      get: operation({
        id: 'getApplication',
        tag: 'Applications',
        summary: 'Read an application and its variants',
        audience: 'admin',
        parameters: withCounts,
        responses: {
          200: json(`The application. ${countHeaders}`, ref('Application')),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
      put: operation({
        id: 'updateApplication',
        tag: 'Applications',
        summary: 'Update name, description or developer',
        audience: 'admin',
        body: jsonBody(ref('ApplicationUpdate')),
        responses: { 204: noContent('Updated.'), 404: shared('NotFound') },
      }),
      delete: operation({
        id: 'deleteApplication',
        tag: 'Applications',
        summary: 'Delete an application with its variants, installations and metrics',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), 404: shared('NotFound') },
      }),
    },
    '/rest/applications/{pushAppID}/reset': {
      parameters: [pushAppID],
      put: operation({
        id: 'resetMasterSecret',
        tag: 'Applications',
        summary: 'Make a new masterSecret',
        audience: 'admin',
        responses: {
          200: json('The application with its new masterSecret in full.', ref('Application')),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/applications/{pushAppID}/count': {
      parameters: [pushAppID],
      get: operation({
        id: 'countInstallations',
        tag: 'Applications',
        summary: 'Count installations per variant type and per variant',
        audience: 'admin',
        responses: { 200: json('The counts.', ref('VariantCounts')), 404: shared('NotFound') },
      }),
    },
  }
}

function variantPaths() {
  const one = [pushAppID, variantType, variantID]
  const found = { 400: shared('BadRequest'), 404: shared('NotFound') }
  const bodies = (kind: 'Create' | 'Update') =>
    ['Android', 'IosToken', 'WebPush'].map((name) => ref(`${name}Variant${kind}`))
  const updateBody = jsonBody(
    { anyOf: bodies('Update') },
    'Only the fields given change; the schema of the type in the path applies.',
  )
  return {
    '/rest/applications/{pushAppID}/{type}': {
      parameters: [pushAppID, variantType],
      post: operation({
        id: 'createVariant',
        tag: 'Variants',
        summary: 'Create a variant; its credentials are checked, then stored encrypted',
        audience: 'admin',
        body: jsonBody({ oneOf: bodies('Create') }, 'The schema of the type in the path applies.'),
        responses: {
          201: json('Created.', ref('Variant'), { Location: header('Location') }),
          404: shared('NotFound'),
        },
      }),
      get: operation({
        id: 'listVariants',
        tag: 'Variants',
        summary: 'List the variants of this type',
        audience: 'admin',
        responses: { 200: json('The variants.', list('Variant')), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}': {
      parameters: one,
      get: operation({
        id: 'getVariant',
        tag: 'Variants',
        summary: 'Read a variant',
        audience: 'admin',
        responses: { 200: json('The variant.', ref('Variant')), ...found },
      }),
      put: operation({
        id: 'updateVariant',
        tag: 'Variants',
        summary: 'Update a variant',
        audience: 'admin',
        body: updateBody,
        responses: { 200: json('The updated variant.', ref('Variant')), ...found },
      }),
      patch: operation({
        id: 'patchVariant',
        tag: 'Variants',
        summary: 'Update a variant, answering 204 (as UPS does for ios_token)',
        audience: 'admin',
        body: updateBody,
        responses: { 204: noContent('Updated.'), ...found },
      }),
      delete: operation({
        id: 'deleteVariant',
        tag: 'Variants',
        summary: 'Delete a variant and its installations',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}/reset': {
      parameters: one,
      put: operation({
        id: 'resetVariantSecret',
        tag: 'Variants',
        summary: 'Make a new variant secret',
        audience: 'admin',
        responses: { 200: json('The variant with its new secret.', ref('Variant')), ...found },
      }),
    },
    '/rest/applications/{pushAppID}/{type}/{variantID}/renew': {
      parameters: one,
      put: operation({
        id: 'renewVapidKeys',
        tag: 'Variants',
        summary: 'Make a new VAPID pair (web_push only; existing subscriptions stop working)',
        audience: 'admin',
        responses: {
          200: json('The variant with its new publicKey.', ref('Variant')),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
  }
}

function installationPaths() {
  const one = [variantID, pathParam('id', 'The installation id.')]
  return {
    '/rest/applications/{variantID}/installations': {
      parameters: [variantID],
      get: operation({
        id: 'listInstallations',
        tag: 'Installations',
        summary: 'Search the installations of a variant',
        audience: 'admin',
        parameters: [parameters.page, perPage(25, 50), parameters.search],
        responses: {
          200: json('One page of installations.', list('Installation'), {
            total: header('total'),
            Link: header('Link'),
          }),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/applications/{variantID}/installations/{id}': {
      parameters: one,
      get: operation({
        id: 'getInstallation',
        tag: 'Installations',
        summary: 'Read an installation',
        audience: 'admin',
        responses: { 200: json('The installation.', ref('Installation')), 404: shared('NotFound') },
      }),
      put: operation({
        id: 'updateInstallation',
        tag: 'Installations',
        summary: 'Update an installation (not its token)',
        audience: 'admin',
        body: jsonBody(ref('InstallationUpdate')),
        responses: { 204: noContent('Updated.'), 404: shared('NotFound') },
      }),
      delete: operation({
        id: 'deleteInstallation',
        tag: 'Installations',
        summary: 'Delete an installation',
        audience: 'admin',
        responses: { 204: noContent('Deleted.'), 404: shared('NotFound') },
      }),
    },
    '/rest/export/{variantID}/installations': {
      parameters: [variantID],
      get: operation({
        id: 'exportInstallations',
        tag: 'Installations',
        summary: 'Stream every installation of a variant',
        description: 'UPS clients add a trailing slash; it is accepted.',
        audience: 'admin',
        responses: {
          200: json('A JSON array, streamed.', list('Installation'), {
            'Content-Disposition': header('ContentDisposition'),
          }),
          404: shared('NotFound'),
        },
      }),
    },
  }
}

function devicePaths() {
  return {
    '/rest/registry/device': {
      post: operation({
        id: 'registerDevice',
        tag: 'Devices',
        summary: 'Register or update this device (upsert by variant and token)',
        audience: 'device',
        parameters: [
          {
            name: 'x-ag-old-token',
            in: 'header',
            required: false,
            description: 'The previous token of this device: its installation is removed.',
            schema: { type: 'string' },
          },
        ],
        body: jsonBody(ref('Registration')),
        responses: { 200: json('The stored installation.', ref('Installation')) },
      }),
    },
    '/rest/registry/device/{token}': {
      parameters: [pathParam('token', 'The device token as registered; may contain `/`.')],
      delete: operation({
        id: 'unregisterDevice',
        tag: 'Devices',
        summary: 'Unregister a device of this variant',
        audience: 'device',
        responses: { 204: noContent('Deleted.'), 404: shared('NotFound') },
      }),
    },
    '/rest/registry/device/importer': {
      post: operation({
        id: 'importInstallations',
        tag: 'Devices',
        summary: 'Import installations into this variant',
        description:
          `At most ${IMPORT_MAX_BYTES} bytes and ${IMPORT_MAX_ROWS} rows. Every row is validated ` +
          'like a registration; a row that fails is counted as rejected, not refused.',
        audience: 'device',
        body: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                properties: {
                  file: {
                    type: 'string',
                    contentMediaType: 'application/json',
                    contentSchema: {
                      type: 'array',
                      maxItems: IMPORT_MAX_ROWS,
                      items: ref('Registration'),
                    },
                    description: 'A JSON array of installations.',
                  },
                },
                required: ['file'],
              },
              encoding: { file: { contentType: 'application/json' } },
            },
          },
        },
        responses: { 200: json('What was done with the rows.', ref('ImportResult')) },
      }),
    },
    '/rest/registry/device/pushMessage/{pushMessageId}': {
      parameters: [pathParam('pushMessageId', 'The `aerogear-push-id` of the message.')],
      put: operation({
        id: 'countAppOpened',
        tag: 'Devices',
        summary: 'Count an app opened by a push message',
        description: 'Only a message sent to this variant’s application is counted.',
        audience: 'device',
        responses: {
          200: json('Counted.', { type: 'object', maxProperties: 0 }),
          404: shared('NotFound'),
        },
      }),
    },
  }
}

function senderPaths() {
  return {
    '/rest/sender': {
      post: operation({
        id: 'send',
        tag: 'Sender',
        summary: 'Send a message to the matching devices of this application',
        description:
          'Within a criteria list OR, across lists AND; only enabled installations. The answer ' +
          'comes once the job is queued. A message that cannot fit a targeted network is 400.',
        audience: 'sender',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'A retried request with the same key answers the first job again.',
            schema: { type: 'string', minLength: 1, maxLength: 255 },
          },
          {
            name: 'aerogear-sender',
            in: 'header',
            required: false,
            description: 'The client identifier shown in metrics (else the User-Agent).',
            schema: { type: 'string' },
          },
        ],
        body: jsonBody(ref('SendRequest')),
        responses: {
          202: json('Queued.', ref('Accepted'), { Location: header('Location') }),
          503: {
            description: 'The job could not be queued; nothing was sent. Try again.',
            headers: { 'Retry-After': header('RetryAfter') },
            content: { 'application/json': { schema: ref('Error') } },
          },
        },
      }),
    },
  }
}

function metricsPaths() {
  const jobs = (description: string, name: string) => json(description, list(name))
  return {
    '/rest/metrics/messages/application/{pushAppID}': {
      parameters: [pushAppID],
      get: operation({
        id: 'listJobs',
        tag: 'Metrics',
        summary: 'The sends of an application',
        audience: 'admin',
        parameters: [parameters.page, perPage(10, 50), parameters.sort, parameters.search],
        responses: {
          200: json('One page of jobs; `search` matches the alert and criteria.', list('Job'), {
            total: header('total'),
            Link: header('Link'),
            receivers: header('receivers'),
            appOpenedCounter: header('appOpenedCounter'),
          }),
          400: shared('BadRequest'),
          404: shared('NotFound'),
        },
      }),
    },
    '/rest/metrics/messages/{id}': {
      parameters: [pathParam('id', 'The push message id.')],
      get: operation({
        id: 'getJob',
        tag: 'Metrics',
        summary: 'One send with its progress per variant',
        audience: 'admin',
        responses: { 200: json('The job.', ref('Job')), 404: shared('NotFound') },
      }),
    },
    '/rest/metrics/dashboard': {
      get: operation({
        id: 'dashboard',
        tag: 'Metrics',
        summary: 'Totals',
        audience: 'admin',
        responses: { 200: json('The totals.', ref('Dashboard')) },
      }),
    },
    '/rest/metrics/dashboard/warnings': {
      get: operation({
        id: 'dashboardWarnings',
        tag: 'Metrics',
        summary: 'Variants whose sends of the last 7 days had failures',
        audience: 'admin',
        responses: { 200: jobs('At most 50, most failures first.', 'VariantWarning') },
      }),
    },
    '/rest/metrics/dashboard/active': {
      get: operation({
        id: 'dashboardActive',
        tag: 'Metrics',
        summary: 'The latest sends',
        audience: 'admin',
        parameters: [parameters.count],
        responses: {
          200: jobs('Newest first.', 'ActiveJob'),
          400: shared('BadRequest'),
        },
      }),
    },
  }
}

function buildDocument(): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pushgate',
      version,
      summary: 'Push notifications to APNs, FCM and Web Push behind the UnifiedPush REST API.',
    },
    tags: [
      'System',
      'Applications',
      'Variants',
      'Installations',
      'Devices',
      'Sender',
      'Metrics',
    ].map((name) => ({ name })),
    paths: {
      ...systemPaths(),
      ...applicationPaths(),
      ...variantPaths(),
      ...installationPaths(),
      ...devicePaths(),
      ...senderPaths(),
      ...metricsPaths(),
    },
    components: {
      schemas: { ...responseSchemas(), ...requestBodySchemas() },
      responses,
      headers,
      securitySchemes,
    },
  }
}

let document: JsonObject | undefined
let body: string | undefined

/** The document, built on first use and kept for the life of the isolate. */
export function openApiDocument(): JsonObject {
  document ??= buildDocument()
  return document
}

export function serveOpenApi(c: Context) {
  body ??= JSON.stringify(openApiDocument())
  return c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8' })
}
