/**
 * The building blocks of the document's operations: who may call (the credential each audience
 * presents), the answers every operation of a kind shares (401 behind auth; 400 and 413 with a
 * body), and the path parameters several routes share.
 */
import type { JsonObject } from './openapi-bodies'
import { type headers, ref, type responses } from './openapi-components'

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

export const shared = (name: keyof typeof responses) => ({ $ref: `#/components/responses/${name}` })
export const header = (name: keyof typeof headers) => ({ $ref: `#/components/headers/${name}` })

/** Adds what every operation of its kind answers: 401 behind auth, 400 and 413 with a body. */
export function operation(spec: OperationSpec): JsonObject {
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

export const jsonBody = (schema: JsonObject, description?: string) => ({
  required: true,
  ...(description && { description }),
  content: { 'application/json': { schema } },
})

export const json = (description: string, schema: JsonObject, headerRefs: JsonObject = {}) => ({
  description,
  ...(Object.keys(headerRefs).length > 0 && { headers: headerRefs }),
  content: { 'application/json': { schema } },
})

export const list = (name: string) => ({ type: 'array', items: ref(name) })
export const noContent = (description: string) => ({ description })
export const pathParam = (
  name: string,
  description: string,
  schema: JsonObject = { type: 'string' },
) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
})

export const pushAppID = pathParam('pushAppID', 'The pushApplicationID.')
export const variantID = pathParam('variantID', 'The variantID.')
export const variantType = pathParam(
  'type',
  'The variant type; `iostoken` and `webpush` are aliases. `ios` (certificates) is refused ' +
    'with 400 pointing to `ios_token`; any other value is 404.',
  { type: 'string', enum: ['android', 'ios_token', 'iostoken', 'web_push', 'webpush'] },
)
