/**
 * A variant's network adapter, built from its sealed credentials and the Worker's configuration.
 */
import { z } from 'zod'
import { importCredentialsKey, unseal } from '../auth/sealed'
import type { Config } from '../config'
import { credentialsAad, type VariantRow } from '../db/variants'
import type { NetworkAdapter } from '../networks/adapter'
import { createApnsAdapter } from '../networks/apns/adapter'
import { fetchTransport } from '../networks/apns/fetch-transport'
import type { ApnsTransportFactory } from '../networks/apns/transport'
import { createFcmAdapter } from '../networks/fcm/adapter'
import { parseServiceAccount } from '../networks/fcm/service-account'
import { createWebPushAdapter } from '../networks/webpush/adapter'

const Stored = z.object({
  privateKey: z.string().optional(),
  serviceAccount: z.unknown().optional(),
})

const WebPushSettings = z.object({ publicKey: z.string(), alias: z.string() })

const ApnsSettings = z.object({
  keyId: z.string(),
  teamId: z.string(),
  bundleId: z.string(),
  production: z.boolean().default(false),
})

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
    case 'ios_token': {
      const settings = ApnsSettings.parse(variant.settings)
      return createApnsAdapter(
        { ...settings, privateKey: z.string().parse(stored.privateKey) },
        {
          endpoints: {
            production: config.APNS_ENDPOINT_PRODUCTION,
            sandbox: config.APNS_ENDPOINT_SANDBOX,
          },
          transport: apnsTransport(config),
        },
      )
    }
  }
}

// APNS_TRANSPORT chooses how notifications reach Apple (DESIGN.md, Networks).
function apnsTransport(config: Config): ApnsTransportFactory {
  if (config.APNS_TRANSPORT === 'fetch') return (endpoint) => fetchTransport(endpoint)
  throw new Error(
    'APNS_TRANSPORT=h2 is not wired yet: no ApnsTransport is built on src/networks/apns/h2/ ' +
      'so far. Set APNS_TRANSPORT=fetch (the default) until it is.',
  )
}

/** Fails every device with `reason` as a variant problem: nothing is sent, nothing pruned. */
function refusing(reason: string): NetworkAdapter {
  return {
    async send(targets) {
      return {
        outcomes: targets.map(() => ({ kind: 'failed', reason })),
        variantProblem: { reason },
      }
    },
  }
}
