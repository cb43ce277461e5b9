/**
 * `GET /openapi.json`: the HTTP contract (docs: shared API.md) as an OpenAPI 3.1 document. Request
 * bodies come from the zod validators the routes use; paths and answers are written here, and a
 * test walks the router so that no route is missing from the document or only in it. Served
 * without auth: it describes the API and holds no secret. Built once per isolate.
 */
import type { Context } from 'hono'
import { version } from '../../package.json'
import { applicationPaths, installationPaths, metricsPaths, variantPaths } from './openapi-admin'
import { type JsonObject, requestBodySchemas } from './openapi-bodies'
import { headers, ref, responseSchemas, responses, securitySchemes } from './openapi-components'
import {
  header,
  json,
  jsonBody,
  noContent,
  operation,
  pathParam,
  shared,
} from './openapi-operation'
import { IMPORT_MAX_BYTES, IMPORT_MAX_ROWS } from './registry'

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

let built: JsonObject | undefined
let served: string | undefined

/** The document, built on first use and kept for the life of the isolate. */
export function openApiDocument(): JsonObject {
  built ??= buildDocument()
  return built
}

/** The handler of `GET /openapi.json`: the document as JSON text, serialised once. */
export function serveOpenApi(c: Context) {
  served ??= JSON.stringify(openApiDocument())
  return c.body(served, 200, { 'Content-Type': 'application/json; charset=utf-8' })
}
