/**
 * The fake FCM's check of a `messages:send` body, as strict as Google's proto3 JSON parser:
 * unknown names and values of the wrong type are refused with Google's own sentences, field
 * names are accepted in snake_case and lowerCamelCase. Only the fields Pushgate could plausibly
 * send are described; anything else is "Cannot find field", which is what a typo gets from Google.
 *
 * Reference: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 */

type Spec =
  | { kind: 'string' | 'bool' | 'int32' | 'duration' | 'strings' | 'map' }
  | { kind: 'enum'; type: string; values: string[] }
  | { kind: 'object'; type: string; fields: Record<string, Spec> }
  /** A part of the message Pushgate never sends (APNs and Web Push overrides): not checked. */
  | { kind: 'any' }

const string: Spec = { kind: 'string' }
const bool: Spec = { kind: 'bool' }
const FCM = 'type.googleapis.com/google.firebase.fcm.v1'

const AndroidNotification: Spec = {
  kind: 'object',
  type: `${FCM}.AndroidNotification`,
  fields: {
    title: string,
    body: string,
    icon: string,
    color: string,
    sound: string,
    tag: string,
    click_action: string,
    body_loc_key: string,
    body_loc_args: { kind: 'strings' },
    title_loc_key: string,
    title_loc_args: { kind: 'strings' },
    channel_id: string,
    ticker: string,
    sticky: bool,
    event_time: string,
    local_only: bool,
    notification_priority: {
      kind: 'enum',
      type: `${FCM}.AndroidNotification.NotificationPriority`,
      values: [
        'PRIORITY_UNSPECIFIED',
        'PRIORITY_MIN',
        'PRIORITY_LOW',
        'PRIORITY_DEFAULT',
        'PRIORITY_HIGH',
        'PRIORITY_MAX',
      ],
    },
    default_sound: bool,
    default_vibrate_timings: bool,
    default_light_settings: bool,
    visibility: {
      kind: 'enum',
      type: `${FCM}.AndroidNotification.Visibility`,
      values: ['VISIBILITY_UNSPECIFIED', 'PRIVATE', 'PUBLIC', 'SECRET'],
    },
    notification_count: { kind: 'int32' },
    image: string,
  },
}

const AndroidConfig: Spec = {
  kind: 'object',
  type: `${FCM}.AndroidConfig`,
  fields: {
    collapse_key: string,
    priority: {
      kind: 'enum',
      type: `${FCM}.AndroidConfig.AndroidMessagePriority`,
      values: ['NORMAL', 'HIGH'],
    },
    ttl: { kind: 'duration' },
    restricted_package_name: string,
    data: { kind: 'map' },
    notification: AndroidNotification,
    fcm_options: {
      kind: 'object',
      type: `${FCM}.AndroidFcmOptions`,
      fields: { analytics_label: string },
    },
    direct_boot_ok: bool,
  },
}

const Message: Spec = {
  kind: 'object',
  type: `${FCM}.Message`,
  fields: {
    name: string,
    data: { kind: 'map' },
    notification: {
      kind: 'object',
      type: `${FCM}.Notification`,
      fields: { title: string, body: string, image: string },
    },
    android: AndroidConfig,
    webpush: { kind: 'any' },
    apns: { kind: 'any' },
    fcm_options: { kind: 'object', type: `${FCM}.FcmOptions`, fields: { analytics_label: string } },
    token: string,
    topic: string,
    condition: string,
  },
}

const SendRequest: Spec = {
  kind: 'object',
  type: `${FCM}.SendMessageRequest`,
  fields: { validate_only: bool, message: Message },
}

export type Violation = { field: string; description: string }

/** The first way `body` breaks Google's schema, or undefined when it parses. */
export function schemaViolation(body: unknown): Violation | undefined {
  return check(SendRequest, body, '')
}

function check(spec: Spec, value: unknown, path: string): Violation | undefined {
  switch (spec.kind) {
    case 'any':
      return undefined
    case 'string':
      return typeof value === 'string' ? undefined : invalid(path, 'TYPE_STRING', value)
    case 'bool':
      return typeof value === 'boolean' ? undefined : invalid(path, 'TYPE_BOOL', value)
    case 'int32':
      return Number.isInteger(value) && Math.abs(value as number) < 2 ** 31
        ? undefined
        : invalid(path, 'TYPE_INT32', value)
    case 'duration':
      // proto3 JSON Duration: seconds with up to nine fraction digits and an `s` suffix.
      return typeof value === 'string' && /^-?\d+(\.\d{1,9})?s$/.test(value)
        ? undefined
        : invalid(path, 'type.googleapis.com/google.protobuf.Duration', value)
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? undefined
        : invalid(path, spec.type, value)
    case 'strings':
      if (!Array.isArray(value)) return invalid(path, 'TYPE_STRING', value)
      for (const [i, item] of value.entries()) {
        if (typeof item !== 'string') return invalid(`${path}[${i}]`, 'TYPE_STRING', item)
      }
      return undefined
    case 'map':
      return checkMap(value, path)
    case 'object':
      return checkObject(spec, value, path)
  }
}

// Google names a map entry by its position: `message.data[0].value` (see its error-codes page).
function checkMap(value: unknown, path: string): Violation | undefined {
  if (!isPlainObject(value)) return invalid(path, 'TYPE_MAP', value)
  for (const [i, entry] of Object.values(value).entries()) {
    if (typeof entry !== 'string') return invalid(`${path}[${i}].value`, 'TYPE_STRING', entry)
  }
  return undefined
}

function checkObject(
  spec: Extract<Spec, { kind: 'object' }>,
  value: unknown,
  path: string,
): Violation | undefined {
  if (!isPlainObject(value)) return invalid(path, spec.type, value)
  for (const [name, inner] of Object.entries(value)) {
    const field = snakeCase(name)
    const fieldSpec = spec.fields[field]
    const at = path === '' ? field : `${path}.${field}`
    if (!fieldSpec) {
      const where = path === '' ? '' : ` at '${path}'`
      const description = `Invalid JSON payload received. Unknown name "${name}"${where}: Cannot find field.`
      return { field: path, description }
    }
    if (inner === null) continue
    const violation = check(fieldSpec, inner, at)
    if (violation) return violation
  }
  return undefined
}

function invalid(path: string, type: string, value: unknown): Violation {
  return {
    field: path,
    description: `Invalid value at '${path}' (${type}), ${JSON.stringify(value)}`,
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}
