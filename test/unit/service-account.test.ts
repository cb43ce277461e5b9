import { exportPKCS8, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseServiceAccount } from '../../src/networks/fcm/service-account'

const strict = { allowInsecure: false }

let rsaPem: string
let ecPem: string

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  rsaPem = await exportPKCS8(rsa.privateKey)
  const ec = await generateKeyPair('ES256', { extractable: true })
  ecPem = await exportPKCS8(ec.privateKey)
})

// A key file as Google's console hands it out, extra keys included.
function keyFile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'service_account',
    project_id: 'pushgate-test',
    private_key_id: '0123456789abcdef',
    private_key: rsaPem,
    client_email: 'fcm@pushgate-test.iam.gserviceaccount.com',
    client_id: '123456789',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/fcm',
    universe_domain: 'googleapis.com',
    ...overrides,
  }
}

// The base64 body of a PEM, which must never show up in an error.
function pemBody(pem: string): string {
  return pem.split('\n')[1] ?? ''
}

describe('parseServiceAccount', () => {
  it('accepts a key file object and keeps only what sending needs', async () => {
    const result = await parseServiceAccount(keyFile(), strict)
    expect(result).toEqual({
      ok: true,
      value: {
        type: 'service_account',
        project_id: 'pushgate-test',
        private_key_id: '0123456789abcdef',
        private_key: rsaPem.trim(),
        client_email: 'fcm@pushgate-test.iam.gserviceaccount.com',
        token_uri: 'https://oauth2.googleapis.com/token',
      },
    })
  })

  it('accepts the key file as a JSON string', async () => {
    const result = await parseServiceAccount(JSON.stringify(keyFile()), strict)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.value.project_id).toBe('pushgate-test')
  })

  it('defaults token_uri and accepts a file without type', async () => {
    const result = await parseServiceAccount(
      keyFile({ token_uri: undefined, type: undefined }),
      strict,
    )
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.value.token_uri).toBe('https://oauth2.googleapis.com/token')
  })

  it('accepts a private key whose newlines are still escaped', async () => {
    const escaped = rsaPem.replaceAll('\n', '\\n')
    const result = await parseServiceAccount(keyFile({ private_key: escaped }), strict)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.value.private_key).toBe(rsaPem.trim())
  })

  it('names every missing field', async () => {
    const result = await parseServiceAccount({ type: 'service_account' }, strict)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(Object.keys(result.details).sort()).toEqual([
      'serviceAccount.client_email',
      'serviceAccount.private_key',
      'serviceAccount.project_id',
    ])
  })

  it('refuses another kind of credentials file', async () => {
    const result = await parseServiceAccount(keyFile({ type: 'authorized_user' }), strict)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.details['serviceAccount.type']).toContain('service_account')
  })

  it('refuses an invalid client_email', async () => {
    const result = await parseServiceAccount(keyFile({ client_email: 'not-an-email' }), strict)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.details['serviceAccount.client_email']).toBeDefined()
  })

  it('refuses an http token_uri unless insecure endpoints are allowed', async () => {
    const file = keyFile({ token_uri: 'http://127.0.0.1:8788/token' })
    const refused = await parseServiceAccount(file, strict)
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.details['serviceAccount.token_uri']).toContain('https')

    const allowed = await parseServiceAccount(file, { allowInsecure: true })
    expect(allowed.ok).toBe(true)
    const other = await parseServiceAccount(keyFile({ token_uri: 'ftp://x/token' }), {
      allowInsecure: true,
    })
    expect(other.ok).toBe(false)
  })

  it('refuses a non-RSA key without echoing it', async () => {
    const result = await parseServiceAccount(keyFile({ private_key: ecPem }), strict)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(Object.keys(result.details)).toEqual(['serviceAccount.private_key'])
    expect(result.details['serviceAccount.private_key']).toContain('RSA private key')
    expect(JSON.stringify(result.details)).not.toContain(pemBody(ecPem))
  })

  it('refuses a garbage PEM without echoing it', async () => {
    const garbage =
      '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n'
    const result = await parseServiceAccount(keyFile({ private_key: garbage }), strict)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.details['serviceAccount.private_key']).toBeDefined()
    expect(JSON.stringify(result.details)).not.toContain('bm90IGEga2V5')
  })

  it('refuses a key that is not PEM at all', async () => {
    const bodyOnly = pemBody(rsaPem)
    const result = await parseServiceAccount(keyFile({ private_key: bodyOnly }), strict)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.details['serviceAccount.private_key']).toContain('BEGIN PRIVATE KEY')
    expect(JSON.stringify(result.details)).not.toContain(bodyOnly)
  })

  it('explains a PKCS#1 key', async () => {
    const pkcs1 = '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----'
    const result = await parseServiceAccount(keyFile({ private_key: pkcs1 }), strict)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.details['serviceAccount.private_key']).toContain('PKCS#1')
  })

  it('refuses input that is not a JSON object, without echoing it', async () => {
    const text = `{"private_key": "${pemBody(rsaPem)}"`
    const broken = await parseServiceAccount(text, strict)
    expect(broken.ok).toBe(false)
    if (broken.ok) return
    expect(Object.keys(broken.details)).toEqual(['serviceAccount'])
    expect(JSON.stringify(broken.details)).not.toContain(pemBody(rsaPem).slice(0, 20))

    for (const input of [null, 42, [], '"a string"', undefined]) {
      const result = await parseServiceAccount(input, strict)
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.details.serviceAccount).toBeDefined()
    }
  })
})
