/**
 * The JSON shapes of applications and variants as UPS clients read them. Credentials never
 * appear; the master secret appears only in the answer that creates or resets it.
 */
import { unseal } from '../../auth/sealed'
import type { ApplicationRow } from '../../db/applications'
import { secretAad, type VariantRow } from '../../db/variants'
import { publicFields } from './variant-types'

/** What stands in for a master secret outside the answer that reveals it. */
export const MASKED_SECRET = '********'

export async function presentVariant(key: CryptoKey, variant: VariantRow) {
  return {
    id: variant.id,
    variantID: variant.variantId,
    secret: await unseal(key, variant.secretSealed, secretAad(variant)),
    name: variant.name,
    description: variant.description,
    type: variant.type,
    developer: variant.developer,
    ...publicFields(variant.type, variant.settings),
  }
}

export async function presentApplication(
  key: CryptoKey,
  app: ApplicationRow,
  variants: VariantRow[],
  masterSecret: string = MASKED_SECRET,
) {
  return {
    id: app.id,
    pushApplicationID: app.pushApplicationId,
    masterSecret,
    name: app.name,
    description: app.description,
    developer: app.developer,
    variants: await Promise.all(variants.map((v) => presentVariant(key, v))),
  }
}
