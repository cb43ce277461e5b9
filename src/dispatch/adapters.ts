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
import { type H2Pool, h2Transport } from '../networks/apns/h2-transport'
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

/** What one consumer invocation shares between its batches: the APNs HTTP/2 connections. */
export type InvocationResources = { h2: H2Pool }

export async function adapterFor(
  env: Env,
  config: Config,
  variant: VariantRow,
  resources: InvocationResources,
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
      // Stored before a configuration change (an http token_uri without ALLOW_INSECURE_ENDPOINTS):
      // report the variant rather than retry a batch that cannot succeed.
      if (!account.ok) return refusing('invalid_service_account')
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
          transport: apnsTransport(config, resources, `${settings.teamId}:${settings.keyId}`),
        },
      )
    }
  }
}

// APNS_TRANSPORT chooses how notifications reach Apple (DESIGN.md, Networks): `fetch`, or `h2`
// with one connection per (endpoint, signing key) for the whole invocation.
function apnsTransport(
  config: Config,
  resources: InvocationResources,
  signingKey: string,
): ApnsTransportFactory {
  if (config.APNS_TRANSPORT === 'h2') {
    return (endpoint) => h2Transport(resources.h2, endpoint, signingKey)
  }
  return (endpoint) => fetchTransport(endpoint)
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
