// `adapterFor` builds an ios_token variant's APNs adapter from its stored row and the Worker's
// configuration: settings, sealed .p8, endpoint by `production`, transport by APNS_TRANSPORT.
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { importCredentialsKey, seal } from '../../src/auth/sealed'
import { type Config, readConfig } from '../../src/config'
import { credentialsAad, type VariantRow } from '../../src/db/variants'
import { adapterFor } from '../../src/dispatch/adapters'
import { H2Pool } from '../../src/networks/apns/h2-transport'
import { Message } from '../../src/push/message'
import {
  apnsH2Url,
  apnsUrl,
  deviceToken,
  fake,
  newTeam,
  type TestTeam,
  testContext,
} from '../fakes/apns-client'

const UNREACHABLE = 'http://127.0.0.1:9'

async function iosVariant(team: TestTeam, production: boolean): Promise<VariantRow> {
  const id = crypto.randomUUID()
  const key = await importCredentialsKey(env.CREDENTIALS_KEY)
  const credentials = JSON.stringify({ privateKey: team.privateKey })
  return {
    id,
    variantId: crypto.randomUUID(),
    applicationId: crypto.randomUUID(),
    type: 'ios_token',
    name: 'ios',
    description: null,
    developer: null,
    secretSealed: 'unused',
    settings: { keyId: team.keyId, teamId: team.teamId, bundleId: team.bundleId, production },
    credentialsSealed: await seal(key, credentials, credentialsAad({ id })),
    createdAt: Date.now(),
    updatedAt: Date.now(),
  }
}

const config = (overrides: Partial<Config>): Config => ({ ...readConfig(env), ...overrides })
const message = Message.parse({ alert: 'wired' })
const options = { ttl: 0, pushMessageId: 'job-w' }

const pool = new H2Pool()

afterEach(async () => {
  await pool.close()
  expect(await fake.unexpected()).toStrictEqual([])
})

describe('adapterFor an ios_token variant', () => {
  it.each([
    ['a sandbox variant reaches APNS_ENDPOINT_SANDBOX', false],
    ['a production variant reaches APNS_ENDPOINT_PRODUCTION', true],
  ])('%s', async (_, production) => {
    const team = await newTeam()
    const endpoints = production
      ? { APNS_ENDPOINT_PRODUCTION: apnsUrl(), APNS_ENDPOINT_SANDBOX: UNREACHABLE }
      : { APNS_ENDPOINT_PRODUCTION: UNREACHABLE, APNS_ENDPOINT_SANDBOX: apnsUrl() }
    const adapter = await adapterFor(
      env,
      config({ ...endpoints, APNS_TRANSPORT: 'fetch' }),
      await iosVariant(team, production),
      { h2: pool },
    )
    const token = deviceToken()
    const result = await adapter.send(
      [{ installationId: 'i1', token, registeredAt: 0 }],
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({ outcomes: [{ kind: 'delivered' }] })
    const [notification] = await fake.notifications(team)
    expect(notification?.token).toBe(token)
    expect(notification?.headers['apns-topic']).toBe(team.bundleId)
  })

  it('reaches Apple over HTTP/2 prior knowledge when APNS_TRANSPORT=h2', async () => {
    const team = await newTeam()
    const adapter = await adapterFor(
      env,
      config({ APNS_ENDPOINT_SANDBOX: apnsH2Url(), APNS_TRANSPORT: 'h2' }),
      await iosVariant(team, false),
      { h2: pool },
    )
    const tokens = [deviceToken(), deviceToken(), deviceToken()]
    const result = await adapter.send(
      tokens.map((token, i) => ({ installationId: `i${i}`, token, registeredAt: 0 })),
      message,
      options,
      testContext(),
    )
    expect(result).toStrictEqual({ outcomes: tokens.map(() => ({ kind: 'delivered' })) })
    const received = await fake.notifications(team)
    expect(received.map((n) => n.token).sort()).toEqual([...tokens].sort())
    expect(received.every((n) => n.protocol === 'h2')).toBe(true)
  })
})
