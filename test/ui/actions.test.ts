/**
 * What the UI's forms do: `/ui/act` makes the API call a form names and carries the outcome to
 * the next page (the master secret once, errors in words); the send dialog sends through the
 * sender logic with the session instead of the master secret; form fields become JSON by the
 * rules the client script shares.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { formJson } from '../../src/ui/form'
import { basic, call } from '../helpers'
import { createApp, createVariant, variantBody } from '../http/fixtures'
import {
  type Browser,
  cookieHeader,
  fetchApi,
  get,
  ORIGIN,
  postForm,
  request,
  signIn,
} from './session'

const act = (browser: Browser, fields: Record<string, string>) =>
  postForm(browser, '/ui/act', fields)

/** A send as a backend would make it, to prove which master secret works. */
const sendAs = (pushAppId: string, secret: string) =>
  call('POST', '/rest/sender', {
    auth: basic(pushAppId, secret),
    body: { message: { alert: 'probe' }, criteria: { alias: ['nobody-has-this-alias'] } },
  })

const secretOnPage = (html: string) =>
  /<code id="master-secret">([A-Za-z0-9_-]{43})<\/code>/.exec(html)?.[1]

describe('the master secret, shown once', () => {
  it('appears on the guide after creating an application, and is masked after a reload', async () => {
    const browser = await signIn()
    const res = await act(browser, {
      _method: 'POST',
      _path: '/rest/applications',
      _next: '/ui/applications/{pushApplicationID}/guide',
      _back: '/ui/applications',
      _notice: 'Application created.',
      name: 'Shown once',
    })
    expect(res.status).toBe(303)
    const location = res.headers.get('Location') ?? ''
    const pushAppId = /^\/ui\/applications\/([^/]+)\/guide$/.exec(location)?.[1] ?? ''
    expect(pushAppId).not.toBe('')
    // The flash cookie carries the secret sealed, never readable.
    const flash = browser.cookies.get('pg_flash') ?? ''
    expect(flash).not.toBe('')

    const first = await (await get(browser, location)).text()
    const secret = secretOnPage(first) ?? ''
    expect(first).toContain('Application created.')
    expect(first).toContain('This is the only time the master secret is shown')
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(flash).not.toContain(secret)
    expect((await sendAs(pushAppId, secret)).status).toBe(202)
    expect(browser.cookies.has('pg_flash')).toBe(false)

    const again = await (await get(browser, location)).text()
    expect(again).not.toContain(secret)
    expect(again).toContain('<code id="master-secret" data-masked="true">********</code>')
    const sender = await (await get(browser, `/ui/applications/${pushAppId}/sender`)).text()
    expect(sender).not.toContain(secret)
  })

  it('appears on the sender tab after a renewal, and the old one stops working', async () => {
    const app = await createApp('Renewed')
    const browser = await signIn()
    const base = `/ui/applications/${app.pushApplicationID}`
    const res = await act(browser, {
      _method: 'PUT',
      _path: `/rest/applications/${app.pushApplicationID}/reset`,
      _next: `${base}/sender`,
      _back: `${base}/sender`,
    })
    expect(res.headers.get('Location')).toBe(`${base}/sender`)
    const html = await (await get(browser, `${base}/sender`)).text()
    const secret = secretOnPage(html) ?? ''

    expect(secret).not.toBe(app.masterSecret)
    expect((await sendAs(app.pushApplicationID, secret)).status).toBe(202)
    expect((await sendAs(app.pushApplicationID, app.masterSecret)).status).toBe(401)
    expect(await (await get(browser, `${base}/sender`)).text()).not.toContain(secret)
  })

  it("is not shown to another session, even with the first one's flash cookie", async () => {
    const app = await createApp('Stolen flash')
    const [browser, other] = await Promise.all([signIn(), signIn()])
    const base = `/ui/applications/${app.pushApplicationID}`
    await act(browser, {
      _method: 'PUT',
      _path: `/rest/applications/${app.pushApplicationID}/reset`,
      _next: `${base}/sender`,
    })
    other.cookies.set('pg_flash', browser.cookies.get('pg_flash') ?? '')
    const html = await (await get(other, `${base}/sender`)).text()
    expect(secretOnPage(html)).toBeUndefined()
  })
})

describe('/ui/act', () => {
  it('shows an API error on the page the form came from, in words, with its fields', async () => {
    const browser = await signIn()
    const res = await act(browser, {
      _method: 'POST',
      _path: '/rest/applications',
      _next: '/ui/applications/{pushApplicationID}/guide',
      _back: '/ui/applications',
      description: 'no name',
    })
    expect(res.headers.get('Location')).toBe('/ui/applications')
    const html = await (await get(browser, '/ui/applications')).text()
    expect(html).toContain('id="flash-error"')
    expect(html).toContain('Invalid request body')
    expect(html).toContain('<code>name</code>')
  })

  it('renames, disables a device and deletes, as the forms ask', async () => {
    const app = await createApp('Before')
    const browser = await signIn()
    const renamed = await act(browser, {
      _method: 'PUT',
      _path: `/rest/applications/${app.pushApplicationID}`,
      _next: '/ui/applications',
      name: 'After',
      'description:null': '',
    })
    expect(renamed.status).toBe(303)
    const got = await call('GET', `/rest/applications/${app.pushApplicationID}`)
    expect(await got.json()).toMatchObject({ name: 'After', description: null })

    const deleted = await act(browser, {
      _method: 'DELETE',
      _path: `/rest/applications/${app.pushApplicationID}`,
      _next: '/ui/applications',
    })
    expect(deleted.status).toBe(303)
    expect((await call('GET', `/rest/applications/${app.pushApplicationID}`)).status).toBe(404)
  })

  it('adds an iOS variant from an uploaded .p8 file', async () => {
    const app = await createApp('Upload')
    const browser = await signIn()
    const ios = await variantBody('ios_token')
    const form = new FormData()
    form.append('_csrf', browser.csrf)
    form.append('_method', 'POST')
    form.append('_path', `/rest/applications/${app.pushApplicationID}/ios_token`)
    form.append('_next', `/ui/applications/${app.pushApplicationID}`)
    form.append('name', 'iPhone')
    form.append('privateKey:file', new File([String(ios.privateKey)], 'AuthKey.p8'))
    form.append('privateKey', '')
    form.append('keyId', String(ios.keyId))
    form.append('teamId', String(ios.teamId))
    form.append('bundleId', String(ios.bundleId))
    form.append('production:bool', 'false')
    const res = await request('POST', '/ui/act', {
      headers: { Cookie: cookieHeader(browser), Origin: ORIGIN },
      body: form,
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/ui/applications/${app.pushApplicationID}`)
    const variants = await call('GET', `/rest/applications/${app.pushApplicationID}/ios_token`)
    expect(await variants.json()).toMatchObject([{ name: 'iPhone', keyId: ios.keyId }])
  })

  it('refuses a form that names no admin API call', async () => {
    const browser = await signIn()
    for (const path of [
      '/rest/sender',
      '/ui/signout',
      '/rest/applications/../sender',
      'https://x',
    ]) {
      const res = await act(browser, { _method: 'POST', _path: path, _next: '/ui/' })
      expect(res.status, path).toBe(400)
    }
  })
})

describe('the send dialog', () => {
  const job = (id: string) =>
    env.DB.prepare('SELECT client_identifier, raw_json_message FROM push_jobs WHERE id = ?')
      .bind(id)
      .first<{ client_identifier: string; raw_json_message: string }>()

  it('sends with the session and the CSRF token, never the master secret', async () => {
    const app = await createApp('Send dialog')
    const web = await createVariant(app.pushApplicationID, 'web_push')
    const browser = await signIn()
    const path = `/ui/applications/${app.pushApplicationID}/send`
    const message = {
      message: { alert: 'Hello', sound: 'default', badge: 2, priority: 'high' },
      criteria: { variants: [web.variantID], alias: ['alice'] },
      config: { ttl: 60 },
    }

    const refused = await fetchApi(browser, 'POST', path, message, { 'X-CSRF-Token': '' })
    expect(refused.status).toBe(403)

    const res = await fetchApi(browser, 'POST', path, message)
    expect(res.status).toBe(202)
    const { id } = await res.json<{ id: string }>()
    expect(res.headers.get('Location')).toBe(`/rest/metrics/messages/${id}`)
    const stored = await job(id)
    expect(stored?.client_identifier).toBe('pushgate-admin-ui')
    expect(JSON.parse(stored?.raw_json_message ?? '{}')).toMatchObject({ alert: 'Hello' })

    const progress = await fetchApi(browser, 'GET', `/rest/metrics/messages/${id}`)
    expect(progress.status).toBe(200)
  })

  it('answers a refused message with the API error shape', async () => {
    const app = await createApp('Send errors')
    const other = await createApp('Other')
    const foreign = await createVariant(other.pushApplicationID, 'web_push')
    const browser = await signIn()
    const path = `/ui/applications/${app.pushApplicationID}/send`

    const bad = await fetchApi(browser, 'POST', path, { message: { badge: 'many' }, extra: 1 })
    expect(bad.status).toBe(400)
    const body = await bad.json<{ message: string; details: Record<string, string> }>()
    expect(body.message).toBe('Invalid message')
    expect(Object.keys(body.details)).toEqual(expect.arrayContaining(['message.badge', 'extra']))

    const unknown = await fetchApi(browser, 'POST', path, {
      message: { alert: 'x' },
      criteria: { variants: [foreign.variantID] },
    })
    expect(unknown.status).toBe(400)
    expect(await unknown.json()).toMatchObject({
      details: { 'criteria.variants': expect.any(String) },
    })

    const missing = await fetchApi(browser, 'POST', '/ui/applications/nope/send', { message: {} })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ message: 'Application not found' })
  })

  it('works as a plain form, once per rendered dialog, and lands on the activity tab', async () => {
    const app = await createApp('Send form')
    const web = await createVariant(app.pushApplicationID, 'web_push')
    const browser = await signIn()
    const base = `/ui/applications/${app.pushApplicationID}`
    const fields = {
      _next: `${base}/activity?sent={id}`,
      _back: base,
      _idempotency: crypto.randomUUID(),
      'message.alert': 'From the form',
      'message.apns.title': 'Title',
      'message.badge:number': '',
      'criteria.variants:list': web.variantID,
      'criteria.categories:list': 'news, sport',
      'config.ttl:number': '0',
    }
    const first = await postForm(browser, `${base}/send`, fields)
    const second = await postForm(browser, `${base}/send`, fields)
    const location = first.headers.get('Location') ?? ''

    expect(first.status).toBe(303)
    expect(location).toMatch(new RegExp(`^${base}/activity\\?sent=[0-9a-f-]{36}$`))
    expect(second.headers.get('Location')).toBe(location)
    const id = location.split('=')[1] ?? ''
    const html = await (await get(browser, location)).text()
    expect(html).toContain(`id="job-${id}"`)
    expect(html).toContain('From the form')
    expect(html).toContain(`data-variant="${web.variantID}"`)
    expect(html).toContain('Message sent')
  })

  it('shows a refused plain-form send on the page it came from', async () => {
    const app = await createApp('Send form error')
    const browser = await signIn()
    const base = `/ui/applications/${app.pushApplicationID}`
    const res = await postForm(browser, `${base}/send`, {
      _back: `${base}/activity`,
      'message.alert': 'x',
      'message.badge:number': 'lots',
    })
    expect(res.headers.get('Location')).toBe(`${base}/activity`)
    const html = await (await get(browser, `${base}/activity`)).text()
    expect(html).toContain('Invalid message')
    expect(html).toContain('<code>message.badge</code>')
  })
})

describe('form fields to JSON', () => {
  it('follows the naming rules the client script shares', async () => {
    const file = new File(['-----BEGIN PRIVATE KEY-----\nabc'], 'AuthKey.p8')
    const body = await formJson([
      ['_csrf', 'token'],
      ['name', ' Shop '],
      ['description:null', ''],
      ['empty', '  '],
      ['message.alert', 'Hi'],
      ['message.apns.title', 'T'],
      ['message.badge:number', '3'],
      ['config.ttl:number', ''],
      ['weird:number', 'x1'],
      ['production:bool', 'false'],
      ['production:bool', 'true'],
      ['enabled:bool', 'false'],
      ['criteria.alias:list', 'a, b\nc'],
      ['criteria.alias:list', 'd'],
      ['criteria.variants:list', ''],
      ['privateKey', ''],
      ['privateKey:file', file],
      ['serviceAccount:file', new File([], '')],
    ])
    expect(body).toEqual({
      name: ' Shop ',
      description: null,
      message: { alert: 'Hi', apns: { title: 'T' }, badge: 3 },
      weird: 'x1',
      production: true,
      enabled: false,
      criteria: { alias: ['a', 'b', 'c', 'd'] },
      privateKey: '-----BEGIN PRIVATE KEY-----\nabc',
    })
  })
})
