import { base64url } from 'jose'
import { describe, expect, it } from 'vitest'
import { importCredentialsKey, seal, unseal } from '../../src/auth/sealed'

// 32 bytes, base64: what `openssl rand -base64 32` prints.
const KEY_A = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='
const KEY_B = 'HxwdHhsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA='

async function messageOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(error instanceof Error)) throw new Error('expected a rejection with an Error')
  return error.message
}

describe('importCredentialsKey', () => {
  it('imports 32 bytes of base64 and caches the key per string', async () => {
    const key = await importCredentialsKey(KEY_A)
    expect(key.algorithm.name).toBe('AES-GCM')
    expect(key.extractable).toBe(false)
    expect(await importCredentialsKey(KEY_A)).toBe(key)
    expect(await importCredentialsKey(KEY_B)).not.toBe(key)
  })

  it('says how to set the key when it is missing', async () => {
    for (const missing of [undefined, '', '  ']) {
      const message = await messageOf(importCredentialsKey(missing))
      expect(message).toContain('CREDENTIALS_KEY is not set')
      expect(message).toContain('wrangler secret put CREDENTIALS_KEY')
      expect(message).toContain('.dev.vars')
    }
  })

  it('refuses a key of the wrong length without repeating it', async () => {
    const short = btoa('sixteen byte key')
    const message = await messageOf(importCredentialsKey(short))
    expect(message).toContain('decodes to 16 bytes')
    expect(message).toContain('32 random bytes')
    expect(message).not.toContain(short)
    expect(message).not.toContain('sixteen')
  })

  it('refuses a key that is not base64 without repeating it', async () => {
    const garbage = 'not base64 at all!'
    const message = await messageOf(importCredentialsKey(garbage))
    expect(message).toContain('not valid base64')
    expect(message).not.toContain(garbage)
  })
})

describe('seal and unseal', () => {
  it('round-trips, binding the value to the row id', async () => {
    const key = await importCredentialsKey(KEY_A)
    const sealed = await seal(key, 'p8 key ✓', 'variant-1')
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
    expect(sealed).not.toContain('p8')
    expect(await unseal(key, sealed, 'variant-1')).toBe('p8 key ✓')
  })

  it('uses a fresh IV for every value', async () => {
    const key = await importCredentialsKey(KEY_A)
    const first = await seal(key, 'same', 'row')
    const second = await seal(key, 'same', 'row')
    expect(first).not.toBe(second)
    expect(first.split('.')[1]).not.toBe(second.split('.')[1])
  })

  it('refuses to open a value moved to another row', async () => {
    const key = await importCredentialsKey(KEY_A)
    const sealed = await seal(key, 'secret', 'variant-1')
    await expect(unseal(key, sealed, 'variant-2')).rejects.toThrow(/does not open/)
  })

  it('refuses a tampered ciphertext', async () => {
    const key = await importCredentialsKey(KEY_A)
    const [version, iv, ciphertext] = (await seal(key, 'secret', 'row')).split('.')
    const bytes = base64url.decode(ciphertext ?? '')
    bytes[0] = (bytes[0] ?? 0) ^ 0x01
    const tampered = `${version}.${iv}.${base64url.encode(bytes)}`
    await expect(unseal(key, tampered, 'row')).rejects.toThrow(/does not open/)
  })

  it('refuses a value sealed under another key', async () => {
    const sealed = await seal(await importCredentialsKey(KEY_A), 'secret', 'row')
    const other = await importCredentialsKey(KEY_B)
    await expect(unseal(other, sealed, 'row')).rejects.toThrow(/CREDENTIALS_KEY differs/)
  })

  it('refuses values that are not in the v1 format', async () => {
    const key = await importCredentialsKey(KEY_A)
    const sealed = await seal(key, 'secret', 'row')
    await expect(unseal(key, sealed.replace('v1.', 'v2.'), 'row')).rejects.toThrow(/v1 format/)
    await expect(unseal(key, `${sealed}.extra`, 'row')).rejects.toThrow(/v1 format/)
    await expect(unseal(key, 'plaintext', 'row')).rejects.toThrow(/v1 format/)
    await expect(unseal(key, 'v1.AAAA.AAAA', 'row')).rejects.toThrow(/malformed IV/)
  })
})
