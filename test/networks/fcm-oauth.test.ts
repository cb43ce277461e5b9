import { decodeJwt, decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import {
  fcmAccessToken,
  mintFcmAccessToken,
  sharedTokenKey,
  signAssertion,
} from '../../src/networks/fcm/oauth'
import { EXPIRY_MARGIN_MS, fake, fcmUrl, newAccount, testContext } from '../fakes/fcm-client'

const strict = { allowInsecure: false }
const insecure = { allowInsecure: true }
const NOW = Date.parse('2026-03-01T12:00:00Z')

/** The cache key, computed apart from the module: SHA-256 of [PEM body, token_uri] as JSON. */
async function expectedKey(account: {
  client_email: string
  private_key: string
  token_uri: string
}) {
  const body = account.private_key
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('')
  const text = JSON.stringify([body, account.token_uri])
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)),
  )
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
  return `fcm:${account.client_email}:${hex.slice(0, 32)}`
}

afterEach(async () => {
  expect(await fake.unexpected()).toStrictEqual([])
})

describe('signAssertion', () => {
  it('carries the claims of Google service-account flow, kid included', async () => {
    const account = await newAccount({ keyId: 'key-1', register: false })
    const jwt = await signAssertion(account, NOW + 999)
    expect(decodeProtectedHeader(jwt)).toStrictEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' })
    expect(decodeJwt(jwt)).toStrictEqual({
      iss: account.client_email,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: account.token_uri,
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
    })
  })

  it('leaves kid out when the key file has no private_key_id', async () => {
    const account = await newAccount({ register: false })
    expect(decodeProtectedHeader(await signAssertion(account, NOW))).toStrictEqual({
      alg: 'RS256',
      typ: 'JWT',
    })
  })
})

describe('mintFcmAccessToken against the fake token endpoint', () => {
  it('gets a token the fake verified, expiring as Google says', async () => {
    const account = await newAccount({ keyId: 'key-1' })
    await fake.clock(account, NOW)
    const minted = await mintFcmAccessToken(account, { now: () => NOW, fetch })
    expect(minted).toStrictEqual({
      ok: true,
      token: expect.stringMatching(/^ya29\.fake-/),
      expiresAt: NOW + 3599_000,
    })
    expect((await fake.stats(account)).mints).toBe(1)
  })

  it('is refused by the fake when the signature is not made with the registered key', async () => {
    const other = await generateKeyPair('RS256', { extractable: true })
    const account = await newAccount({ publicPem: await exportSPKI(other.publicKey) })
    const minted = await mintFcmAccessToken(account, { now: Date.now, fetch })
    expect(minted).toStrictEqual({ ok: false, kind: 'variant_problem', reason: 'invalid_grant' })
    expect((await fake.stats(account)).mints).toBe(0)
  })

  it('is refused for an account Google does not know', async () => {
    const account = await newAccount({ register: false })
    const minted = await mintFcmAccessToken(account, { now: Date.now, fetch })
    expect(minted).toStrictEqual({ ok: false, kind: 'variant_problem', reason: 'invalid_grant' })
  })

  it('is refused when the kid names another key of the account', async () => {
    const account = await newAccount({ keyId: 'key-1' })
    const minted = await mintFcmAccessToken(
      { ...account, private_key_id: 'key-2' },
      { now: Date.now, fetch },
    )
    expect(minted).toStrictEqual({ ok: false, kind: 'variant_problem', reason: 'invalid_grant' })
  })

  it('is refused when aud is not the URL of the token endpoint', async () => {
    const account = await newAccount()
    const elsewhere = { ...account, token_uri: `${account.token_uri}?audience=other` }
    const minted = await mintFcmAccessToken(elsewhere, { now: Date.now, fetch })
    expect(minted).toStrictEqual({ ok: false, kind: 'variant_problem', reason: 'invalid_grant' })
  })

  it('is refused when our clock is an hour off (iat and exp are checked)', async () => {
    const account = await newAccount()
    await fake.clock(account, NOW)
    const minted = await mintFcmAccessToken(account, { now: () => NOW - 3601_000, fetch })
    expect(minted).toStrictEqual({ ok: false, kind: 'variant_problem', reason: 'invalid_grant' })
  })

  it('retries later when the token endpoint cannot be reached', async () => {
    const account = { ...(await newAccount()), token_uri: 'http://127.0.0.1:9/token' }
    const minted = await mintFcmAccessToken(account, { now: Date.now, fetch })
    expect(minted).toStrictEqual({ ok: false, kind: 'retry', reason: 'token_unavailable' })
  })
})

describe('fcmAccessToken', () => {
  it('refuses an http token_uri, unless insecure endpoints are allowed', async () => {
    const account = await newAccount()
    expect(account.token_uri.startsWith('http:')).toBe(true)
    const ctx = testContext()
    expect(await fcmAccessToken(account, ctx, strict)).toStrictEqual({
      ok: false,
      kind: 'variant_problem',
      reason: 'insecure_token_uri',
    })
    expect((await fake.stats(account)).mints).toBe(0)
    expect(await fcmAccessToken(account, ctx, insecure)).toMatchObject({ ok: true })
  })

  it('shares one token through the cache until five minutes before it expires', async () => {
    const account = await newAccount()
    let now = NOW
    await fake.clock(account, now)
    const ctx = testContext(() => now)

    const first = await fcmAccessToken(account, ctx, insecure)
    now += 3599_000 - EXPIRY_MARGIN_MS - 1
    expect(await fcmAccessToken(account, ctx, insecure)).toStrictEqual(first)
    expect((await fake.stats(account)).mints).toBe(1)

    now += 1
    await fake.clock(account, now)
    const second = await fcmAccessToken(account, ctx, insecure)
    expect(second).toMatchObject({ ok: true })
    expect(second).not.toStrictEqual(first)
    expect((await fake.stats(account)).mints).toBe(2)
    const key = await expectedKey(account)
    expect(key).toMatch(/^fcm:fcm-[0-9a-f]{8}@[\w.-]+:[0-9a-f]{32}$/)
    expect([...ctx.sharedToken.stored.keys()]).toStrictEqual([key])
    expect(await sharedTokenKey(account)).toBe(key)
  })

  it('mints anew when the token is rejected, and stores nothing when minting fails', async () => {
    const account = await newAccount()
    const ctx = testContext()
    const first = await fcmAccessToken(account, ctx, insecure)
    if (!first.ok) throw new Error('no token')
    const renewed = await fcmAccessToken(account, ctx, { ...insecure, rejected: first.token })
    expect(renewed).toMatchObject({ ok: true })
    expect(renewed).not.toStrictEqual(first)
    expect((await fake.stats(account)).mints).toBe(2)

    // A batch that heard the 401 late, for the same old token, takes the renewed one.
    const late = await fcmAccessToken(account, ctx, { ...insecure, rejected: first.token })
    expect(late).toStrictEqual(renewed)
    expect((await fake.stats(account)).mints).toBe(2)

    const broken = { ...account, token_uri: 'http://127.0.0.1:9/token', client_email: 'x@y.z' }
    expect(await fcmAccessToken(broken, ctx, insecure)).toMatchObject({ ok: false, kind: 'retry' })
    expect(ctx.sharedToken.stored.has(await sharedTokenKey(broken))).toBe(false)
    expect([...ctx.sharedToken.stored.keys()]).toStrictEqual([await sharedTokenKey(account)])
  })

  it('never hands the token to a variant naming the same client_email with another key', async () => {
    const account = await newAccount()
    const other = await generateKeyPair('RS256', { extractable: true })
    const impostor = { ...account, private_key: await exportPKCS8(other.privateKey) }
    const ctx = testContext()

    const genuine = await fcmAccessToken(account, ctx, insecure)
    expect(genuine).toMatchObject({ ok: true })
    // It mints with its own key, which Google refuses, instead of reading the account's token.
    expect(await fcmAccessToken(impostor, ctx, insecure)).toStrictEqual({
      ok: false,
      kind: 'variant_problem',
      reason: 'invalid_grant',
    })
    expect(await fcmAccessToken(account, ctx, insecure)).toStrictEqual(genuine)
    expect((await fake.stats(account)).mints).toBe(1)
    expect(ctx.sharedToken.mints).toBe(1)
    expect([...ctx.sharedToken.stored.keys()]).toStrictEqual([await sharedTokenKey(account)])
  })

  it('keys the token by private_key and token_uri, the key however its lines end', async () => {
    const account = await newAccount()
    const crlf = { ...account, private_key: account.private_key.trim().split('\n').join('\r\n') }
    expect(crlf.private_key).toContain('\r\n')
    const ctx = testContext()

    const first = await fcmAccessToken(crlf, ctx, insecure)
    expect(first).toMatchObject({ ok: true })
    expect(await fcmAccessToken(account, ctx, insecure)).toStrictEqual(first)
    expect((await fake.stats(account)).mints).toBe(1)
    expect(await sharedTokenKey(crlf)).toBe(await sharedTokenKey(account))

    const elsewhere = { ...account, token_uri: `${account.token_uri}?audience=other` }
    expect(await sharedTokenKey(elsewhere)).not.toBe(await sharedTokenKey(account))
  })

  it('points at the fake the setup started', () => {
    expect(fcmUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })
})
