import { decodeProtectedHeader, exportPKCS8, generateKeyPair, importSPKI, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  apnsProviderToken,
  PROVIDER_TOKEN_LIFETIME_MS,
  PROVIDER_TOKEN_RENEW_AFTER_MS,
  providerTokenKey,
  signProviderToken,
} from '../../src/networks/apns/provider-token'
import { newTeam, testContext } from '../fakes/apns-client'

const NOW = Date.UTC(2026, 4, 6, 7, 8, 9, 500)

describe('the APNs provider token', () => {
  it('is an ES256 JWT with only alg and kid, and only iss and iat (verified with jose)', async () => {
    const team = await newTeam({ register: false })
    const token = await signProviderToken(team, NOW)

    expect(decodeProtectedHeader(token)).toStrictEqual({ alg: 'ES256', kid: team.keyId })
    const verified = await jwtVerify(token, await importSPKI(team.publicKey, 'ES256'), {
      algorithms: ['ES256'],
      issuer: team.teamId,
      currentDate: new Date(NOW),
    })
    expect(verified.payload).toStrictEqual({ iss: team.teamId, iat: Math.floor(NOW / 1000) })
  })

  it('does not verify under another key', async () => {
    const team = await newTeam({ register: false })
    const other = await newTeam({ register: false })
    const token = await signProviderToken(team, NOW)
    await expect(jwtVerify(token, await importSPKI(other.publicKey, 'ES256'))).rejects.toThrow()
  })

  it('is shared under apns:<teamId>:<keyId>, renewed at 40 minutes, living an hour', async () => {
    const team = await newTeam({ register: false })
    let now = NOW
    const ctx = testContext(() => now)

    const first = await apnsProviderToken(team, ctx)
    expect(ctx.sharedToken.calls).toStrictEqual([
      { key: `apns:${team.teamId}:${team.keyId}`, renewIfOlderThanMs: 40 * 60_000 },
    ])
    expect(providerTokenKey(team)).toBe(`apns:${team.teamId}:${team.keyId}`)
    expect(PROVIDER_TOKEN_RENEW_AFTER_MS).toBe(40 * 60_000)
    expect(PROVIDER_TOKEN_LIFETIME_MS).toBe(60 * 60_000)

    now += PROVIDER_TOKEN_RENEW_AFTER_MS - 1
    expect(await apnsProviderToken(team, ctx)).toStrictEqual(first)
    expect(ctx.sharedToken.mints).toBe(1)

    now += 1
    const second = await apnsProviderToken(team, ctx)
    expect(second.ok && first.ok && second.token !== first.token).toBe(true)
    expect(ctx.sharedToken.mints).toBe(2)
  })

  it('gives the cache an expiry one hour after iat', async () => {
    const team = await newTeam({ register: false })
    let expiresAt = 0
    await apnsProviderToken(team, {
      now: () => NOW,
      fetch,
      sharedToken: async (_key, mint) => {
        const minted = await mint()
        expiresAt = minted.expiresAt
        return minted.token
      },
    })
    expect(expiresAt).toBe(Math.floor(NOW / 1000) * 1000 + 60 * 60_000)
  })

  it('mints a new one when the young one is rejected', async () => {
    const team = await newTeam({ register: false })
    const ctx = testContext(() => NOW)
    const first = await apnsProviderToken(team, ctx)
    if (!first.ok) throw new Error('no token')
    const later = { ...ctx, now: () => NOW + 1000 }
    const renewed = await apnsProviderToken(team, later, { rejected: first.token })
    expect(ctx.sharedToken.calls.at(-1)).toStrictEqual({
      key: providerTokenKey(team),
      renewIfOlderThanMs: PROVIDER_TOKEN_RENEW_AFTER_MS,
      rejected: first.token,
    })
    expect(renewed.ok && renewed.token !== first.token).toBe(true)
    expect(ctx.sharedToken.mints).toBe(2)
  })

  it('after a rejection, takes a token someone renewed meanwhile, and mints only if none', async () => {
    const team = await newTeam({ register: false })
    const ctx = testContext(() => NOW)
    const rejected = await apnsProviderToken(team, ctx)
    if (!rejected.ok) throw new Error('no token')
    const renewedElsewhere = await apnsProviderToken(team, ctx, { rejected: rejected.token })

    expect(await apnsProviderToken(team, ctx, { rejected: rejected.token })).toStrictEqual(
      renewedElsewhere,
    )
    expect(ctx.sharedToken.mints).toBe(2)

    if (!renewedElsewhere.ok) throw new Error('no token')
    const fresh = await apnsProviderToken(team, ctx, { rejected: renewedElsewhere.token })
    expect(fresh.ok && fresh.token !== renewedElsewhere.token).toBe(true)
    expect(ctx.sharedToken.mints).toBe(3)
  })

  it('is a value, not a throw, when the stored key cannot sign ES256', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true })
    const team = {
      ...(await newTeam({ register: false })),
      privateKey: await exportPKCS8(rsa.privateKey),
    }
    const ctx = testContext(() => NOW)
    expect(await apnsProviderToken(team, ctx)).toStrictEqual({
      ok: false,
      reason: 'signing_key_unusable',
    })
    expect(ctx.sharedToken.mints).toBe(0)
  })

  it('lets a failure of the shared cache itself reach the caller', async () => {
    const team = await newTeam({ register: false })
    const broken = {
      now: () => NOW,
      fetch,
      sharedToken: async () => {
        throw new Error('D1_ERROR: database is locked')
      },
    }
    await expect(apnsProviderToken(team, broken)).rejects.toThrow('D1_ERROR')
  })
})
