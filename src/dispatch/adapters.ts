/**
 * A variant's network adapter, built from its sealed credentials. APNs delivery is not built yet:
 * an `ios_token` variant's devices fail with `network_not_supported` and are kept.
 */
import { z } from 'zod'
import { importCredentialsKey, unseal } from '../auth/sealed'
import type { Config } from '../config'
import { credentialsAad, type VariantRow } from '../db/variants'
import type { NetworkAdapter } from '../networks/adapter'
import { createFcmAdapter } from '../networks/fcm/adapter'
import { parseServiceAccount } from '../networks/fcm/service-account'
import { createWebPushAdapter } from '../networks/webpush/adapter'

const Stored = z.object({
  privateKey: z.string().optional(),
  serviceAccount: z.unknown().optional(),
})

const WebPushSettings = z.object({ publicKey: z.string(), alias: z.string() })

export async function adapterFor(
  env: Env,
  config: Config,
  variant: VariantRow,
): Promise<NetworkAdapter> {
  const key = await importCredentialsKey(env.CREDENTIALS_KEY)
  const stored = Stored.parse(
    JSON.parse(await unseal(key, variant.credentialsSealed, credentialsAad(variant))),
  )
  switch (variant.type) {
    case 'web_push': {
      const settings = WebPushSettings.parse(variant.settings)
      return createWebPushAdapter({
        publicKey: settings.publicKey,
        privateKey: z.string().parse(stored.privateKey),
        subject: settings.alias,
        allowInsecureEndpoints: config.ALLOW_INSECURE_ENDPOINTS,
      })
    }
    case 'android': {
      const account = await parseServiceAccount(stored.serviceAccount, {
        allowInsecure: config.ALLOW_INSECURE_ENDPOINTS,
      })
      if (!account.ok)
        throw new Error(`variant ${variant.variantId}: stored service account is invalid`)
      return createFcmAdapter({
        serviceAccount: account.value,
        endpoint: config.FCM_ENDPOINT,
        allowInsecure: config.ALLOW_INSECURE_ENDPOINTS,
      })
    }
    case 'ios_token':
      return notSupported
  }
}

const notSupported: NetworkAdapter = {
  async send(targets) {
    return { outcomes: targets.map(() => ({ kind: 'failed', reason: 'network_not_supported' })) }
  },
}
