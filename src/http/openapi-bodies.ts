/**
 * The request-body schemas of the OpenAPI document, generated from the zod validators the routes
 * parse with, so that the document cannot drift from what the Worker accepts. What a validator
 * cannot say (a credential is write-only, a field is accepted only to be ignored or refused) is
 * added by property path; a path that no longer exists throws, so a renamed field breaks the
 * document's test instead of silently losing its note.
 */
import { z } from 'zod'
import { SendRequest } from '../push/message'
import { CreateApplication, UpdateApplication } from './admin/applications'
import { UpdateInstallation } from './admin/installations'
import {
  createSchemas,
  updateSchemas,
  VARIANT_TYPES,
  type VariantType,
} from './admin/variant-types'
import { Registration } from './registry'

export type JsonObject = { [key: string]: unknown }

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The schema of a body as clients write it: before zod's transforms and defaults. */
function bodySchema(schema: z.ZodType, notes: Record<string, JsonObject> = {}): JsonObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
  })
  for (const [path, note] of Object.entries(notes)) Object.assign(propertyAt(json, path), note)
  return json
}

function propertyAt(schema: JsonObject, path: string): JsonObject {
  let node = schema
  for (const key of path.split('.')) {
    const properties = node.properties
    const next = isObject(properties) ? properties[key] : undefined
    if (!isObject(next))
      throw new Error(`OpenAPI note for "${path}": no such property; fix the note`)
    node = next
  }
  return node
}

const writeOnly = (description: string) => ({ writeOnly: true, description })
const ignored = { deprecated: true, description: 'Accepted and ignored: a platform not served.' }
const typeNote = {
  description: 'Optional; when given it must name the type of the path (UPS clients send it).',
}

const variantNotes: Record<VariantType, Record<string, JsonObject>> = {
  android: {
    type: typeNote,
    serviceAccount: writeOnly(
      'The service-account JSON key file from the Firebase console, as an object or as text. ' +
        'Required on create; checked for `private_key`, `client_email` and `project_id`.',
    ),
    googleKey: {
      deprecated: true,
      description: 'Refused with 400: legacy FCM server keys no longer work; give serviceAccount.',
    },
  },
  ios_token: {
    type: typeNote,
    privateKey: writeOnly('The .p8 signing key (PEM) from Apple Developer; must be a P-256 key.'),
    keyId: { description: 'The 10-character Key ID of the signing key.' },
    teamId: { description: 'The 10-character Team ID.' },
    production: { description: 'APNs production (true) or sandbox (false, the default).' },
  },
  web_push: {
    type: typeNote,
    publicKey: { description: 'VAPID public key; give both keys or neither (then one is made).' },
    privateKey: writeOnly('VAPID private key, matching publicKey.'),
    alias: { description: 'The VAPID subject: a `mailto:` or `https:` URL.' },
  },
}

/** Schema names per variant type, as they appear under `components.schemas`. */
export const VARIANT_SCHEMA_NAMES: Record<VariantType, string> = {
  android: 'Android',
  ios_token: 'IosToken',
  web_push: 'WebPush',
}

/** Every request body schema, by its name under `components.schemas`. */
export function requestBodySchemas(): Record<string, JsonObject> {
  const variants: Record<string, JsonObject> = {}
  for (const type of VARIANT_TYPES) {
    const name = VARIANT_SCHEMA_NAMES[type]
    variants[`${name}VariantCreate`] = bodySchema(createSchemas[type], variantNotes[type])
    variants[`${name}VariantUpdate`] = bodySchema(updateSchemas[type], variantNotes[type])
  }
  return {
    ApplicationCreate: bodySchema(CreateApplication, {
      masterSecret: { description: 'Made when omitted; shown in full only in this answer.' },
    }),
    ApplicationUpdate: bodySchema(UpdateApplication),
    ...variants,
    InstallationUpdate: bodySchema(UpdateInstallation, {
      id: { description: 'Accepted when unchanged (a GET answer may be sent back whole).' },
      deviceToken: { description: 'Accepted when unchanged; a device registers a new token.' },
    }),
    Registration: bodySchema(Registration, {
      deviceToken: {
        description:
          'ios_token: hex, at least 64 digits (spaces, dashes and `<>` are removed). android: ' +
          'an FCM registration token. web_push: the PushSubscription, as an object or as a ' +
          'string holding its JSON or the base64 of that JSON.',
      },
    }),
    SendRequest: bodySchema(SendRequest, {
      'message.windows': ignored,
      'message.simple-push': ignored,
      'message.simplePush': ignored,
      'message.user-data': {
        description: 'Delivered with the message; FCM gets every value as a string.',
      },
      'criteria.variants': { description: 'variantIDs of this application; none means all.' },
      'config.ttl': { description: 'Seconds the networks keep trying; 0 means now or never.' },
    }),
  }
}
