/**
 * How a UI form becomes a JSON body for the API. The client script (assets/pushgate.js,
 * `formJson`) follows the same rules in the browser; this is the server's copy for forms posted
 * without JavaScript.
 *
 * A field name is `path[:kind]`; the path is dotted (`message.apns.title`). Kinds:
 * - none: text, left out when empty
 * - `null`: text, null when empty (clears an optional field)
 * - `number`: a number, left out when empty; text that is no number is passed on for the API
 *   to refuse with the field's name
 * - `bool`: `true`/`on` or `false`; the last value wins (a hidden `false` before a checkbox)
 * - `list`: values split at commas and line breaks, gathered over every field of the name
 * - `file`: the uploaded file's text, left out when no file was chosen
 * Names that start with `_` steer the UI (`_csrf`, `_method`, `_path`, `_next`) and are not sent.
 */
export type FormValue = string | File

type Json = Record<string, unknown>

function put(target: Json, path: string[], value: unknown) {
  let node = target
  for (const key of path.slice(0, -1)) {
    const child = node[key]
    if (typeof child === 'object' && child !== null && !Array.isArray(child)) {
      node = child as Json
    } else {
      const created: Json = {}
      node[key] = created
      node = created
    }
  }
  const last = path.at(-1)
  if (last !== undefined) node[last] = value
}

function get(target: Json, path: string[]): unknown {
  let node: unknown = target
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Json)[key]
  }
  return node
}

/** Turns form entries (in document order) into the JSON body they stand for. */
export async function formJson(entries: Iterable<[string, FormValue]>): Promise<Json> {
  const body: Json = {}
  for (const [name, raw] of entries) {
    if (name.startsWith('_')) continue
    const [pathText = '', kind = ''] = name.split(':')
    const path = pathText.split('.').filter(Boolean)
    if (path.length === 0) continue
    const value = typeof raw === 'string' ? raw : kind === 'file' ? await raw.text() : ''
    const trimmed = value.trim()
    switch (kind) {
      case 'list': {
        const items = trimmed
          .split(/[,\n]/)
          .map((item) => item.trim())
          .filter(Boolean)
        const known = get(body, path)
        const previous = Array.isArray(known) ? known : []
        if (items.length > 0) put(body, path, [...previous, ...items])
        break
      }
      case 'number':
        if (trimmed !== '') put(body, path, Number.isNaN(Number(trimmed)) ? value : Number(trimmed))
        break
      case 'bool':
        put(body, path, trimmed === 'true' || trimmed === 'on')
        break
      case 'null':
        put(body, path, trimmed === '' ? null : value)
        break
      default:
        if (trimmed !== '') put(body, path, value)
    }
  }
  return body
}
