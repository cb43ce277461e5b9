/**
 * The Worker's variables (wrangler.toml `[vars]` and secrets), parsed once per environment object.
 * A bad value is a deployment mistake: it throws with a sentence that names the variable.
 */
import { z } from 'zod'

const Vars = z.object({
  METRICS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  APNS_ENDPOINT_PRODUCTION: z.url().default('https://api.push.apple.com'),
  APNS_ENDPOINT_SANDBOX: z.url().default('https://api.sandbox.push.apple.com'),
  APNS_TRANSPORT: z.enum(['fetch', 'h2']).default('fetch'),
  FCM_ENDPOINT: z.url().default('https://fcm.googleapis.com'),
  ALLOW_INSECURE_ENDPOINTS: z
    .enum(['true', 'false', ''])
    .default('false')
    .transform((v) => v === 'true'),
})

export type Config = z.infer<typeof Vars>

const cache = new WeakMap<object, Config>()

export function readConfig(env: Env): Config {
  const known = cache.get(env)
  if (known) return known
  const parsed = Vars.safeParse(env)
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ')
    throw new Error(`Invalid Worker variables: ${names}. See the configuration table in README.md.`)
  }
  cache.set(env, parsed.data)
  return parsed.data
}
