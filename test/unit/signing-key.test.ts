import { exportPKCS8, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkApnsCredentials } from '../../src/networks/apns/signing-key'

let p8: string
let rsaPem: string
let p384Pem: string

beforeAll(async () => {
  p8 = await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey)
  rsaPem = await exportPKCS8((await generateKeyPair('RS256', { extractable: true })).privateKey)
  p384Pem = await exportPKCS8((await generateKeyPair('ES384', { extractable: true })).privateKey)
})

const ids = { keyId: 'ABC123DEFG', teamId: 'TEAM456789' }

function pemBody(pem: string): string {
  return pem.split('\n')[1] ?? ''
}

describe('checkApnsCredentials', () => {
  it('accepts a P-256 PKCS#8 key with valid ids', async () => {
    const result = await checkApnsCredentials({ privateKey: p8, ...ids })
    expect(result).toEqual({ ok: true, value: { privateKey: p8.trim(), ...ids } })
  })

  it('accepts a key pasted with CRLF line ends and surrounding whitespace', async () => {
    const pasted = `\r\n  ${p8.replaceAll('\n', '\r\n')}  \r\n`
    const result = await checkApnsCredentials({ privateKey: pasted, ...ids })
    expect(result.ok).toBe(true)
  })

  it('refuses an RSA key without echoing it', async () => {
    const result = await checkApnsCredentials({ privateKey: rsaPem, ...ids })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(Object.keys(result.details)).toEqual(['privateKey'])
    expect(result.details.privateKey).toContain('P-256')
    expect(JSON.stringify(result.details)).not.toContain(pemBody(rsaPem))
  })

  it('refuses a P-384 key', async () => {
    const result = await checkApnsCredentials({ privateKey: p384Pem, ...ids })
    expect(result.ok).toBe(false)
  })

  it('asks for the whole file when the PEM lines are missing', async () => {
    const body = p8.split('\n').slice(1, -2).join('\n')
    const result = await checkApnsCredentials({ privateKey: body, ...ids })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.details.privateKey).toContain('-----BEGIN PRIVATE KEY-----')
    expect(JSON.stringify(result.details)).not.toContain(pemBody(p8))
  })

  it('refuses ids that are not 10 capital letters or digits', async () => {
    const cases: [string, string][] = [
      ['ABC123DEF', 'TEAM456789'],
      ['ABC123DEFG', 'team456789'],
      ['ABC123DEFGH', 'TEAM45678-'],
    ]
    for (const [keyId, teamId] of cases) {
      const result = await checkApnsCredentials({ privateKey: p8, keyId, teamId })
      expect(result.ok).toBe(false)
    }
    const nine = await checkApnsCredentials({ privateKey: p8, ...ids, keyId: 'ABC123DEF' })
    expect(nine).toEqual({ ok: false, details: { keyId: expect.stringContaining('10-character') } })
  })

  it('reports every problem at once', async () => {
    const result = await checkApnsCredentials({ privateKey: 'x', keyId: '', teamId: 'short' })
    expect(result.ok).toBe(false)
    if (!result.ok)
      expect(Object.keys(result.details).sort()).toEqual(['keyId', 'privateKey', 'teamId'])
  })
})
