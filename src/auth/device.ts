/**
 * A device's credential: HTTP Basic `variantID:secret`. The variant secret is stored sealed (it
 * ships inside apps and operators must read it again), opened here and compared in constant time.
 * An unknown variant costs the same comparison as a known one, and gets the same 401.
 */
import { createMiddleware } from 'hono/factory'
import { openDb } from '../db/client'
import { findVariant, secretAad, type VariantRow } from '../db/variants'
import { readBasic } from './basic'
import { importCredentialsKey, unseal } from './sealed'
import { safeEqual } from './secrets'
import { unauthorized } from './unauthorized'

export type DeviceEnv = { Bindings: Env; Variables: { variant: VariantRow } }

export const requireDevice = createMiddleware<DeviceEnv>(async (c, next) => {
  const credentials = readBasic(c.req.header('Authorization'))
  if (!credentials) throw unauthorized('Basic')
  const variant = await findVariant(openDb(c.env), credentials.id)
  const key = await importCredentialsKey(c.env.CREDENTIALS_KEY)
  const expected = variant ? await unseal(key, variant.secretSealed, secretAad(variant)) : ''
  const matches = await safeEqual(credentials.secret, expected)
  if (!variant || !matches) throw unauthorized('Basic')
  c.set('variant', variant)
  await next()
})
