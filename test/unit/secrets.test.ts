import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { newId, randomSecret, safeEqual, sha256Hex } from '../../src/auth/secrets'

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vector', async () => {
    expect(await sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  it('hashes the UTF-8 bytes', async () => {
    expect(await sha256Hex('é')).toBe(
      '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c',
    )
  })
})

describe('safeEqual', () => {
  it('is true for equal strings', async () => {
    expect(await safeEqual('s3cret', 's3cret')).toBe(true)
    expect(await safeEqual('', '')).toBe(true)
  })

  it('is false for different strings of the same length', async () => {
    expect(await safeEqual('s3cret', 's3creT')).toBe(false)
  })

  it('is false, without throwing, for different lengths', async () => {
    expect(await safeEqual('s3cret', 's3cret-and-more')).toBe(false)
    expect(await safeEqual('', 'x')).toBe(false)
  })
})

describe('randomSecret', () => {
  it('is 32 random bytes in base64url', () => {
    const secret = randomSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(base64url.decode(secret).byteLength).toBe(32)
    expect(randomSecret()).not.toBe(secret)
  })
})

describe('newId', () => {
  it('is a v4 UUID', () => {
    expect(newId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(newId()).not.toBe(newId())
  })
})
