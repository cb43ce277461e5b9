/**
 * Every page of the admin UI, rendered for a signed-in person and for nobody: status, the
 * security headers, the ids and labels the browser tests rely on, and what a page must never
 * contain (a network's private key, a master secret outside its one-time display).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { generateVapidKeys } from '../../src/networks/webpush/vapid-keys'
import { call } from '../helpers'
import {
  answerText,
  type CreatedApp,
  type CreatedVariant,
  createApp,
  newDeviceToken,
  register,
  VAPID_SUBJECT,
  variantBody,
} from '../http/fixtures'
import { type Browser, get, request, signIn } from './session'

let app: CreatedApp
let empty: CreatedApp
let browser: Browser
let web: CreatedVariant
const privateKeys: string[] = []

/** The base64 lines of a PEM's body: any one of them on a page would leak the key. */
function pemLines(pem: string) {
  return pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'))
}

beforeAll(async () => {
  app = await createApp('Pages')
  empty = await createApp('Empty')
  const vapid = await generateVapidKeys()
  const webRes = await call('POST', `/rest/applications/${app.pushApplicationID}/web_push`, {
    body: { name: 'Website', alias: VAPID_SUBJECT, ...vapid },
  })
  expect(webRes.status, await answerText(webRes)).toBe(201)
  web = await webRes.json()
  privateKeys.push(vapid.privateKey)

  const ios = await variantBody('ios_token')
  const iosRes = await call('POST', `/rest/applications/${app.pushApplicationID}/ios_token`, {
    body: ios,
  })
  expect(iosRes.status).toBe(201)
  privateKeys.push(...pemLines(String(ios.privateKey)))

  const android = await variantBody('android')
  const androidRes = await call('POST', `/rest/applications/${app.pushApplicationID}/android`, {
    body: android,
  })
  expect(androidRes.status).toBe(201)
  const account = android.serviceAccount as { private_key: string }
  privateKeys.push(...pemLines(account.private_key))

  const device = await register(web, {
    deviceToken: await newDeviceToken('web_push'),
    alias: 'alice@example.com',
  })
  expect(device.status).toBe(200)
  browser = await signIn()
})

const pages = () => {
  const base = `/ui/applications/${app.pushApplicationID}`
  return [
    '/ui/',
    '/ui',
    '/ui/applications',
    '/ui/applications?page=3',
    base,
    `${base}/guide`,
    `${base}/installations`,
    `${base}/installations?variant=${web.variantID}&search=alice`,
    `${base}/sender`,
    `${base}/activity`,
    `${base}/send`,
    `/ui/applications/${empty.pushApplicationID}`,
    `/ui/applications/${empty.pushApplicationID}/guide`,
    `/ui/applications/${empty.pushApplicationID}/installations`,
  ]
}

describe('pages', () => {
  it('render 200 for a signed-in session, with the security headers', async () => {
    for (const path of pages()) {
      const res = await get(browser, path)
      const html = await res.text()
      expect(res.status, `${path}: ${html.slice(0, 500)}`).toBe(200)
      expect(res.headers.get('Content-Type')).toMatch(/^text\/html/)
      expect(html.startsWith('<!DOCTYPE html><html lang="en">')).toBe(true)
      const csp = res.headers.get('Content-Security-Policy') ?? ''
      expect(csp).toContain("default-src 'none'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
      expect(res.headers.get('Cache-Control')).toBe('no-store')
      expect(res.headers.get('X-Frame-Options')).toBe('DENY')
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      // No inline script or style: the CSP would block them.
      expect(html).not.toMatch(/<script(?![^>]*(\bsrc=|type="application\/json"))/)
      expect(html).not.toMatch(/\sstyle="/)
      expect(html).not.toMatch(/\son[a-z]+="/)
    }
  })

  it('send the person to sign in, and back, without a session', async () => {
    for (const path of pages()) {
      const res = await request('GET', path)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('Location')).toBe(`/ui/signin?next=${encodeURIComponent(path)}`)
      expect(await res.text()).not.toContain(app.pushApplicationID)
    }
  })

  it('never contain a private key or the master secret', async () => {
    for (const path of pages()) {
      const html = await (await get(browser, path)).text()
      expect(html, path).not.toMatch(/PRIVATE KEY/)
      for (const key of privateKeys) expect(html, path).not.toContain(key)
      expect(html, path).not.toContain(app.masterSecret)
      expect(html, path).not.toContain(empty.masterSecret)
    }
  })

  it('label every form field', async () => {
    for (const path of pages()) {
      const html = await (await get(browser, path)).text()
      const ids = [
        ...html.matchAll(/<(?:input|textarea|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"/g),
      ].map((m) => m[1])
      const fields = [...html.matchAll(/<(?:input|textarea|select)\b(?![^>]*type="hidden")/g)]
      expect(ids.length, path).toBe(fields.length)
      for (const id of ids) expect(html, `${path} #${id}`).toContain(`<label for="${id}">`)
    }
  })

  it('show the variants with their ids, masked secrets and device counts', async () => {
    const html = await (await get(browser, `/ui/applications/${app.pushApplicationID}`)).text()
    expect(html).toContain(`id="variant-${web.variantID}"`)
    expect(html).toContain(`<code id="variant-id-${web.variantID}">${web.variantID}</code>`)
    expect(html).toContain(`<details class="reveal" id="variant-secret-${web.variantID}-reveal">`)
    expect(html).toMatch(/<dd data-field="device-count">1<\/dd>/)
    expect(html).toContain('Renew VAPID keys')
    expect(html).toContain('existing browser subscription stops working')
    expect(html).toContain('Apps built with the old secret stop registering')
    expect(html).toContain('id="send-dialog"')
  })

  it('list installations with search and an export link', async () => {
    const base = `/ui/applications/${app.pushApplicationID}/installations`
    const found = await (await get(browser, `${base}?variant=${web.variantID}&search=alice`)).text()
    expect(found).toContain('alice@example.com')
    expect(found).toContain(`href="/rest/export/${web.variantID}/installations/"`)
    const none = await (await get(browser, `${base}?variant=${web.variantID}&search=bob`)).text()
    expect(none).not.toContain('alice@example.com')
    expect(none).toContain('0 devices')
  })

  it('export installations with the session cookie alone', async () => {
    const res = await get(browser, `/rest/export/${web.variantID}/installations/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Disposition')).toContain('attachment')
    expect(await res.json()).toMatchObject([{ alias: 'alice@example.com' }])
  })

  it('show the master secret masked on the sender tab', async () => {
    const html = await (
      await get(browser, `/ui/applications/${app.pushApplicationID}/sender`)
    ).text()
    expect(html).toContain('<code id="master-secret" data-masked="true">********</code>')
    expect(html).toContain('unifiedpush-node-sender')
    expect(html).toContain('DefaultPushSender')
    expect(html).toContain(`-u &quot;${app.pushApplicationID}:$MASTER_SECRET&quot;`)
  })

  it('answer an unknown application and an unknown page with 404 in words', async () => {
    const missing = await get(browser, '/ui/applications/no-such-app')
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('Application not found')
    const nowhere = await get(browser, '/ui/nowhere')
    expect(nowhere.status).toBe(404)
    expect(nowhere.headers.get('Content-Security-Policy')).toBeTruthy()
  })

  it('redirect the root to the UI', async () => {
    const res = await request('GET', '/')
    expect(res.status).toBe(302)
    expect(res.headers.get('Location')).toBe('/ui/')
  })
})

describe('static files', () => {
  it('serve the script, the stylesheet and uPlot without a session, with an ETag', async () => {
    const files = [
      ['/ui/assets/pushgate.js', /^text\/javascript/, 'formJson'],
      ['/ui/assets/pushgate.css', /^text\/css/, '.progress'],
      ['/ui/assets/uplot.js', /^text\/javascript/, 'uPlot'],
      ['/ui/assets/uplot.css', /^text\/css/, '.uplot'],
    ] as const
    for (const [path, type, content] of files) {
      const res = await request('GET', path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('Content-Type')).toMatch(type)
      expect(await res.text()).toContain(content)
      const etag = res.headers.get('ETag') ?? ''
      expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
      const again = await request('GET', path, { headers: { 'If-None-Match': etag } })
      expect(again.status).toBe(304)
    }
    expect((await request('GET', '/ui/assets/nothing.js')).status).toBe(404)
  })
})
