/**
 * `GET /openapi.json` held against the Worker it describes: served without credentials, every
 * route of the router in it and nothing else, request bodies as strict as their validators, no
 * credential in any answer, the structure OpenAPI 3.1 asks for, and on every operation the
 * security the Worker actually enforces.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { app } from '../../src/http/app'
import { SendRequest } from '../../src/push/message'
import { call } from '../helpers'

type Json = { [key: string]: unknown }

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const CREDENTIALS = ['privateKey', 'serviceAccount']

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function obj(value: unknown, what: string): Json {
  if (!isObject(value)) throw new Error(`${what} is not an object`)
  return value
}

let doc: Json = {}

beforeAll(async () => {
  const res = await call('GET', '/openapi.json', { auth: null })
  expect(res.status).toBe(200)
  doc = await res.json()
})

/** Follows a local `$ref` (JSON pointer) to what it names; fails the test if it names nothing. */
function deref(node: Json): Json {
  let current = node
  const seen = new Set<string>()
  while (typeof current.$ref === 'string') {
    const pointer = current.$ref
    expect(pointer.startsWith('#/'), pointer).toBe(true)
    expect(seen.has(pointer), `cycle at ${pointer}`).toBe(false)
    seen.add(pointer)
    let target: unknown = doc
    for (const raw of pointer.slice(2).split('/')) {
      const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
      target = isObject(target) ? target[key] : undefined
    }
    current = obj(target, pointer)
  }
  return current
}

type Operation = { path: string; method: string; item: Json; op: Json }

function operations(): Operation[] {
  const found: Operation[] = []
  for (const [path, item] of Object.entries(obj(doc.paths, 'paths'))) {
    for (const method of METHODS) {
      const op = obj(item, path)[method]
      if (op !== undefined) found.push({ path, method, item: obj(item, path), op: obj(op, path) })
    }
  }
  return found
}

const SUBSCHEMA_LISTS = ['oneOf', 'anyOf', 'allOf', 'prefixItems']
const SUBSCHEMAS = ['items', 'additionalProperties', 'contentSchema', 'not', 'propertyNames']

/** Every schema reachable from `root`, `$ref`s followed, each visited once. */
function* schemasIn(root: unknown, seen = new Set<Json>()): Generator<Json> {
  if (!isObject(root)) return
  const schema = deref(root)
  if (seen.has(schema)) return
  seen.add(schema)
  yield schema
  for (const child of Object.values(isObject(schema.properties) ? schema.properties : {})) {
    yield* schemasIn(child, seen)
  }
  for (const key of SUBSCHEMAS) yield* schemasIn(schema[key], seen)
  for (const key of SUBSCHEMA_LISTS) {
    for (const child of Array.isArray(schema[key]) ? schema[key] : []) yield* schemasIn(child, seen)
  }
}

const mediaSchemas = (content: unknown) =>
  Object.values(isObject(content) ? content : {}).map((media) => obj(media, 'media').schema)

function requestSchemas(op: Json, mediaType = 'application/json') {
  if (op.requestBody === undefined) return []
  const content = obj(deref(obj(op.requestBody, 'requestBody')).content, 'content')
  return content[mediaType] === undefined ? [] : [obj(content[mediaType], mediaType).schema]
}

function responseSchemas(op: Json) {
  return Object.values(obj(op.responses, 'responses')).flatMap((r) =>
    mediaSchemas(deref(obj(r, 'response')).content),
  )
}

/** A JSON object schema, or the object schemas it offers as alternatives. */
function alternatives(schema: unknown): Json[] {
  const resolved = deref(obj(schema, 'schema'))
  const options = resolved.oneOf ?? resolved.anyOf
  return Array.isArray(options) ? options.map((o) => deref(obj(o, 'option'))) : [resolved]
}

const propertyNames = (schema: Json) => Object.keys(obj(schema.properties ?? {}, 'properties'))

describe('GET /openapi.json', () => {
  it('answers 200 JSON without credentials, the same document every time', async () => {
    const first = await call('GET', '/openapi.json', { auth: null })
    const second = await call('GET', '/openapi.json', { auth: null })

    expect(first.status).toBe(200)
    expect(first.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(first.headers.get('WWW-Authenticate')).toBeNull()
    expect(await first.text()).toBe(await second.text())
  })

  it('describes every route of the router, and nothing else', () => {
    // A handler that takes `next` is middleware (auth, body limits), not a route of its own.
    const routed = new Set(
      app.routes
        .filter((r) => r.handler.length < 2)
        .map((r) => {
          const path = r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/(.)\/$/, '$1')
          return `${r.method.toLowerCase()} ${path}`
        }),
    )
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path}`))

    expect([...routed].filter((r) => r.startsWith('all '))).toEqual([])
    expect([...documented].sort()).toEqual([...routed].sort())
  })

  it('has the structure of an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0')
    const info = obj(doc.info, 'info')
    expect(info.title).toBe('Pushgate')
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/)
    const components = obj(doc.components, 'components')
    expect(obj(components.securitySchemes, 'securitySchemes')).toEqual({
      adminToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      deviceBasic: expect.objectContaining({ type: 'http', scheme: 'basic' }),
      senderBasic: expect.objectContaining({ type: 'http', scheme: 'basic' }),
    })

    const ids = operations().map(({ op }) => op.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`
      expect(path, where).toMatch(/^\//)
      expect(typeof op.operationId, where).toBe('string')
      const answers = Object.entries(obj(op.responses, where))
      expect(answers.length, where).toBeGreaterThan(0)
      for (const [status, answer] of answers) {
        expect(status, where).toMatch(/^[1-5]\d\d$/)
        expect(typeof deref(obj(answer, where)).description, `${where} ${status}`).toBe('string')
      }
    }
  })

  it('resolves every $ref in the document', () => {
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const child of node) visit(child)
        return
      }
      if (!isObject(node)) return
      if (typeof node.$ref === 'string') deref(node)
      for (const [key, value] of Object.entries(node)) {
        // A discriminator's mapping holds references as strings.
        if (key === 'mapping')
          for (const target of Object.values(obj(value, key))) deref({ $ref: target })
        else visit(value)
      }
    }
    visit(doc)
  })

  it('declares each path parameter, required, exactly once', () => {
    for (const { path, method, item, op } of operations()) {
      const declared = [item.parameters ?? [], op.parameters ?? []]
        .flatMap((list) => (Array.isArray(list) ? list : []))
        .map((p) => deref(obj(p, 'parameter')))
        .filter((p) => p.in === 'path')
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])

      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(inPath.sort())
      for (const p of declared) expect(p.required, `${method} ${path} ${p.name}`).toBe(true)
    }
  })

  it('refuses unknown properties in the sender body at every level, as the validator does', () => {
    const [schema] = requestSchemas(obj(obj(obj(doc.paths, 'paths')['/rest/sender'], '').post, ''))
    const valid = {
      message: { alert: 'hi', apns: { title: 'Hello' } },
      criteria: { alias: ['someone'] },
      config: { ttl: 60 },
    }
    expect(SendRequest.safeParse(valid).success).toBe(true)

    for (const level of [[], ['message'], ['message', 'apns'], ['criteria'], ['config']]) {
      let node = deref(obj(schema, 'sender body'))
      for (const key of level) node = deref(obj(obj(node.properties, 'properties')[key], key))
      expect(node.additionalProperties, level.join('.') || '(body)').toBe(false)

      const body = structuredClone(valid)
      let target: Json = body
      for (const key of level) target = obj(target[key], key)
      target.unexpected = true
      const parsed = SendRequest.safeParse(body)
      expect(parsed.error?.issues[0]?.code, level.join('.') || '(body)').toBe('unrecognized_keys')
    }
  })

  it('describes every JSON request body as closed, like the strict validators', () => {
    for (const { path, method, op } of operations()) {
      for (const schema of requestSchemas(op)) {
        for (const option of alternatives(schema)) {
          expect(option.additionalProperties, `${method} ${path}`).toBe(false)
        }
      }
    }
  })

  it('offers variant create bodies that exclude one another, as oneOf requires', () => {
    const post = obj(obj(doc.paths, 'paths')['/rest/applications/{pushAppID}/{type}'], '').post
    const [schema] = requestSchemas(obj(post, 'createVariant'))
    const options = alternatives(schema)
    expect(options).toHaveLength(3)
    // Two closed schemas exclude each other when one requires a property the other forbids.
    const forbidsSomeRequired = (a: Json, b: Json) =>
      (Array.isArray(a.required) ? a.required : []).some((p) => !propertyNames(b).includes(p))
    for (const a of options) {
      for (const b of options) {
        if (a === b) continue
        expect(forbidsSomeRequired(a, b) || forbidsSomeRequired(b, a)).toBe(true)
      }
    }
  })

  it('never shows a credential in an answer, and marks credentials write-only in bodies', () => {
    for (const { path, method, op } of operations()) {
      for (const root of responseSchemas(op)) {
        for (const schema of schemasIn(root)) {
          const shown = propertyNames(schema).filter((name) => CREDENTIALS.includes(name))
          expect(shown, `${method} ${path}`).toEqual([])
        }
      }
    }

    const marked = new Map<string, boolean[]>()
    for (const { op } of operations()) {
      for (const root of requestSchemas(op)) {
        for (const schema of schemasIn(root)) {
          for (const name of CREDENTIALS) {
            const property = obj(schema.properties ?? {}, 'properties')[name]
            if (property === undefined) continue
            marked.set(name, [...(marked.get(name) ?? []), obj(property, name).writeOnly === true])
          }
        }
      }
    }
    expect(marked.get('privateKey')).toEqual(expect.arrayContaining([true]))
    expect(marked.get('serviceAccount')).toEqual(expect.arrayContaining([true]))
    expect([...marked.values()].flat()).not.toContain(false)
  })

  it('states on each operation the credential the Worker asks for', async () => {
    const challenge: Record<string, string> = {
      adminToken: 'Bearer',
      deviceBasic: 'Basic',
      senderBasic: 'Basic',
    }
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`
      const url = path.replace(/\{type\}/, 'android').replace(/\{\w+\}/g, 'x')
      const res = await call(method.toUpperCase(), url, { auth: null })
      await res.body?.cancel()
      const security = op.security
      expect(Array.isArray(security), where).toBe(true)
      const schemes = (security as unknown[]).flatMap((s) => Object.keys(obj(s, 'security')))

      if (schemes.length === 0) {
        expect(res.status, where).not.toBe(401)
        continue
      }
      expect(res.status, where).toBe(401)
      expect(obj(op.responses, where)['401'], where).toBeDefined()
      const scheme = res.headers.get('WWW-Authenticate')?.split(' ')[0]
      expect(
        schemes.map((s) => challenge[s]),
        where,
      ).toContain(scheme)
    }
  })
})
