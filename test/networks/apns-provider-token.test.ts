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

/** The cache key, computed apart from the module: SHA-256 of the base64 lines of the .p8. */
async function expectedKey(team: { teamId: string; keyId: string; privateKey: string }) {
  const body = team.privateKey
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('')
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)),
  )
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
  return `apns:${team.teamId}:${team.keyId}:${hex.slice(0, 32)}`
}

const withLineEnds = (pem: string, end: string) => pem.trim().split(/\r?\n/).join(end)

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

  it('is shared under apns:<teamId>:<keyId>:<key digest>, renewed at 40 minutes, living an hour', async () => {
    const team = await newTeam({ register: false })
    let now = NOW
    const ctx = testContext(() => now)

    const first = await apnsProviderToken(team, ctx)
    const key = await expectedKey(team)
    expect(key).toMatch(new RegExp(`^apns:${team.teamId}:${team.keyId}:[0-9a-f]{32}$`))
    expect(ctx.sharedToken.calls).toStrictEqual([{ key, renewIfOlderThanMs: 40 * 60_000 }])
    expect(await providerTokenKey(team)).toBe(key)
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
      key: await providerTokenKey(team),
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

  it('is never shared with a variant naming the same team and key id with another key', async () => {
    const team = await newTeam({ register: false })
    const impostor = { ...team, privateKey: (await newTeam({ register: false })).privateKey }
    const ctx = testContext(() => NOW)

    const genuine = await apnsProviderToken(team, ctx)
    const forged = await apnsProviderToken(impostor, ctx)
    if (!genuine.ok || !forged.ok) throw new Error('no token')
    expect(forged.token).not.toBe(genuine.token)
    expect(ctx.sharedToken.mints).toBe(2)
    expect(new Set(ctx.sharedToken.calls.map((call) => call.key)).size).toBe(2)

    // Each variant keeps its own token, and only the genuine one verifies under the team's key.
    expect(await apnsProviderToken(team, ctx)).toStrictEqual(genuine)
    expect(await apnsProviderToken(impostor, ctx)).toStrictEqual(forged)
    expect(ctx.sharedToken.mints).toBe(2)
    const teamKey = await importSPKI(team.publicKey, 'ES256')
    await expect(
      jwtVerify(genuine.token, teamKey, { currentDate: new Date(NOW) }),
    ).resolves.toBeTruthy()
    await expect(jwtVerify(forged.token, teamKey, { currentDate: new Date(NOW) })).rejects.toThrow()
  })

  it('is one entry for the same .p8 pasted with CRLF, with LF, or with blank lines around', async () => {
    const team = await newTeam({ register: false })
    const crlf = { ...team, privateKey: withLineEnds(team.privateKey, '\r\n') }
    const padded = { ...team, privateKey: `\n\n${withLineEnds(team.privateKey, '\n')}\n  \n` }
    expect(crlf.privateKey).toContain('\r\n')
    const ctx = testContext(() => NOW)

    const first = await apnsProviderToken(crlf, ctx)
    expect(await apnsProviderToken(team, ctx)).toStrictEqual(first)
    expect(await apnsProviderToken(padded, ctx)).toStrictEqual(first)
    expect(ctx.sharedToken.mints).toBe(1)
    expect(await providerTokenKey(crlf)).toBe(await providerTokenKey(team))
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
