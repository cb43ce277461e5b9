/**
 * The endpoint rules of finding S2 as a pure function: every refused form, the real push
 * services' endpoints, and what ALLOW_INSECURE_ENDPOINTS still refuses.
 */
import { describe, expect, it } from 'vitest'
import { checkPushEndpoint } from '../../src/push/push-endpoint'
import { PUSH_SERVICE_ENDPOINTS, REFUSED_ENDPOINTS } from '../push-endpoints'

const secure = { allowInsecure: false }
const insecure = { allowInsecure: true }

function check(endpoint: string, opts = secure): string | null {
  const url = URL.parse(endpoint)
  if (!url) throw new Error(`not a URL: ${endpoint}`)
  return checkPushEndpoint(url, opts)
}

describe('checkPushEndpoint', () => {
  it.each(REFUSED_ENDPOINTS)('refuses %s, without repeating the endpoint', (_, endpoint) => {
    const reason = check(endpoint)

    expect(reason).toMatch(/^The subscription endpoint .{10,}\.$/)
    const url = new URL(endpoint)
    expect(reason).not.toContain(url.hostname.replace(/^\[|\]$/g, ''))
    expect(reason).not.toContain(url.pathname)
  })

  it('names what is wrong', () => {
    expect(check('http://push.example.net/a')).toContain('https:')
    expect(check('https://0x7f.1/a')).toContain('IP address')
    expect(check('https://[::1]/a')).toContain('IP address')
    expect(check('https://printer.local/a')).toContain('local or reserved')
    expect(check('https://push.example.net:8443/a')).toContain('port')
    expect(check('https://u@push.example.net/a')).toContain('user name')
  })

  it("accepts the push services' endpoints, and port 443 spelled out", () => {
    for (const endpoint of PUSH_SERVICE_ENDPOINTS) {
      expect(check(endpoint)).toBeNull()
      expect(check(endpoint, insecure)).toBeNull()
    }
    expect(check('https://fcm.googleapis.com:443/fcm/send/abc')).toBeNull()
    expect(check('https://FCM.googleapis.com./fcm/send/abc')).toBeNull()
  })

  it('keeps example.com and its siblings: they are real names', () => {
    for (const host of ['push.example.com', 'push.example.net', 'example.org']) {
      expect(check(`https://${host}/push/abc`)).toBeNull()
    }
  })

  it('lets insecure endpoints use http, IP addresses, local names and ports', () => {
    const allowed = [
      'http://127.0.0.1:8787/push/abc',
      'http://localhost:8787/push/abc',
      'https://[::1]:8443/push/abc',
      'https://printer.local/push/abc',
      'https://intranet/push/abc',
    ]
    for (const endpoint of allowed) expect(check(endpoint, insecure)).toBeNull()
  })

  it('refuses other schemes and user names even when insecure endpoints are allowed', () => {
    const refused = [
      'ftp://push.example.net/push/abc',
      'javascript:alert(1)',
      'ws://127.0.0.1:8787/push/abc',
      'http://user:secret@127.0.0.1:8787/push/abc',
    ]
    for (const endpoint of refused) expect(check(endpoint, insecure)).not.toBeNull()
  })
})
