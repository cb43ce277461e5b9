// The admin UI in a real browser: Debian's Chromium, driven by playwright-core, against a real
// `wrangler dev` whose Web Push service is the fake of test/fakes/webpush.ts. One person's first
// session, in order: a wrong token, signing in, creating an application (its master secret
// shown once), adding a Web Push variant, a device registering through the registration API,
// a send from the dialog followed live on the Activity tab, and what the push service decrypted.
// Then the pages of an application whose private keys the test chose, which no answer the
// browser receives may contain, and signing out.
//
// Screenshots of every page go to test-results/screenshots/ui-admin/. With UPDATE_DASHBOARD_PNG=1
// the dashboard after the send is also written to docs/dashboard.png, the README's picture of
// the UI; only then, so that running the tests leaves the committed files alone.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type FakePushService, startFakePushService } from '../fakes/webpush'
import { chromiumPath, launchChromium } from './ui/browser'
import { type KnownKeys, knownKeys } from './ui/keys'
import { admin, basic, call, fake } from './ui/rest'
import { recordVisits, type Visits } from './ui/visits'
import { type RunningWorker, startWorker } from './wrangler-dev'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SCREENSHOTS = path.join(root, 'test-results/screenshots/ui-admin')
const DASHBOARD_PNG = path.join(root, 'docs/dashboard.png')
// The README's screenshot: one screen of a laptop, small enough to commit.
const VIEWPORT = { width: 1280, height: 800 }
const DELIVERED_TIMEOUT_MS = 30_000

const ALERT = 'Your order has shipped'
const LOAD_FAILED = /^Failed to load resource: the server responded with a status of \d+/
// The fake push service answers the push this late, so the Activity tab first shows the send
// running and the test can see the page change without a reload.
const PUSH_DELAY_MS = 2_000
const RUNNING = ['queued', 'sending']

const WebVariant = z.object({ variantID: z.string(), secret: z.string(), publicKey: z.string() })
const App = z.object({ pushApplicationID: z.string() })
const Subscription = z.object({
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
})
// The part of the fake's Delivery record the test reads.
const Deliveries = z.array(z.object({ status: z.number(), payload: z.unknown() }))

describe('the admin UI in Chromium', () => {
  let webPush: FakePushService | undefined
  let worker: RunningWorker
  let browser: Browser | undefined
  let context: BrowserContext
  let page: Page
  let visits: Visits
  /** Uncaught exceptions, console errors (a CSP violation is one) and failed subresources. */
  const pageErrors: string[] = []

  // Filled in as the person goes along.
  let pushAppID = ''
  let masterSecret = ''
  let web: z.infer<typeof WebVariant>
  let endpoint = ''

  const base = () => `${worker.url}/ui/applications/${pushAppID}`

  beforeAll(async () => {
    chromiumPath() // before anything starts: a missing browser is the whole answer
    // Each is kept as soon as it exists, so that afterAll stops it whichever other one failed.
    await Promise.all([
      startFakePushService().then((started) => {
        webPush = started
      }),
      startWorker({ vars: { ALLOW_INSECURE_ENDPOINTS: 'true' } }).then((started) => {
        worker = started
      }),
      launchChromium().then((launched) => {
        browser = launched
      }),
    ])
    if (!browser) throw new Error('unreachable: Chromium launched')
    context = await browser.newContext({ viewport: VIEWPORT })
    visits = await recordVisits(context, worker.url, SCREENSHOTS)
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`))
    // A refused page load is logged as a console error too; each test checks the statuses of
    // its own pages, so only the other errors and failed subresources count here.
    page.on('console', (message) => {
      if (message.type() !== 'error' || LOAD_FAILED.test(message.text())) return
      pageErrors.push(`${page.url()}: ${message.text()}`)
    })
    page.on('response', (res) => {
      if (res.status() < 400 || res.request().resourceType() === 'document') return
      pageErrors.push(`${res.request().method()} ${res.url()}: ${res.status()}`)
    })
  })

  afterAll(async () => {
    // Each is stopped whether or not the others stop; Chromium also exits on its own when this
    // process dies, as its control pipe closes.
    const results = await Promise.allSettled([browser?.close(), worker?.stop(), webPush?.close()])
    const failed = results.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
  })

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([])
  })

  it('refuses a wrong admin token and sets no cookie', async () => {
    await page.goto(`${worker.url}/ui/`)
    expect(new URL(page.url()).pathname).toBe('/ui/signin')

    await page.fill('#signin-token', 'not-the-admin-token')
    const [answer] = await Promise.all([
      page.waitForResponse((res) => res.request().method() === 'POST'),
      page.click('#signin-submit'),
    ])
    expect(answer.status()).toBe(401)
    await visits.snap(page, 'signin-refused')
    expect(await page.textContent('#signin-error')).toContain('That is not the admin token')
    expect(await context.cookies()).toEqual([])
  })

  it('signs in and keeps the session in an HttpOnly, Secure, SameSite=Strict cookie', async () => {
    await page.fill('#signin-token', worker.adminToken)
    await page.click('#signin-submit')
    await page.waitForURL(`${worker.url}/ui/`)
    await visits.snap(page, 'dashboard-empty')
    expect(await page.textContent('#total-applications')).toBe('0')

    const cookies = await context.cookies()
    expect(cookies.map((cookie) => cookie.name)).toEqual(['pg_session'])
    const [session] = cookies
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })
    expect(session?.value).not.toContain(worker.adminToken)
    expect(await page.evaluate('document.cookie')).toBe('')
  })

  it('creates an application and shows its master secret only once', async () => {
    await page.goto(`${worker.url}/ui/applications`)
    await visits.snap(page, 'applications-empty')
    await page.fill('#app-create-name', 'Storefront')
    await page.click('#app-create-submit')
    await page.waitForURL(/\/ui\/applications\/[^/]+\/guide$/)
    pushAppID = (await page.textContent('#app-push-id')) ?? ''
    expect(page.url()).toBe(`${base()}/guide`)

    expect(await page.isVisible('#master-secret-once')).toBe(true)
    masterSecret = (await page.textContent('#master-secret')) ?? ''
    expect(masterSecret).toMatch(/^[A-Za-z0-9_-]{16,}$/)
    await visits.snap(page, 'guide-master-secret-once')

    await page.reload()
    expect(await page.getAttribute('#master-secret', 'data-masked')).toBe('true')
    expect(await page.locator('#master-secret-once').count()).toBe(0)
    expect(await visits.snap(page, 'guide-reloaded')).not.toContain(masterSecret)

    await page.goto(`${base()}/sender`)
    expect(await page.getAttribute('#master-secret', 'data-masked')).toBe('true')
    expect(await visits.snap(page, 'sender')).not.toContain(masterSecret)
  })

  it('adds a web_push variant from the Variants tab', async () => {
    await page.goto(base())
    await page.click('#add-web_push-details > summary')
    await page.fill('#add-web_push-name', 'Website')
    await page.fill('#add-web_push-subject', 'mailto:ops@example.com')
    await page.click('#add-web_push-submit')

    const card = page.locator('.variant[data-type="web_push"]')
    await card.waitFor()
    expect(await page.textContent('#flash-notice')).toBe('Variant created.')
    const variantID = (await card.locator('[id^="variant-id-"]').textContent()) ?? ''
    // The secret sits in a closed <details> until the person reveals it.
    const shown = {
      variantID,
      secret: await page.textContent(`#variant-secret-${variantID}`),
      publicKey: await page.textContent(`#vapid-${variantID}`),
    }
    await page.click(`#variant-secret-${variantID}-reveal > summary`)
    expect(await page.isVisible(`#variant-secret-${variantID}`)).toBe(true)
    await visits.snap(page, 'variants')

    const path = `/rest/applications/${pushAppID}/web_push/${variantID}`
    web = WebVariant.parse(await admin(worker, 'GET', path))
    expect(shown).toEqual({
      variantID: web.variantID,
      secret: web.secret,
      publicKey: web.publicKey,
    })
  })

  it('counts a device registered through the registration API', async () => {
    const subscription = Subscription.parse(
      await fake(webPush?.url ?? '', 'POST', '/_subscribe', {
        applicationServerKey: web.publicKey,
        delayMs: PUSH_DELAY_MS,
      }),
    )
    endpoint = subscription.endpoint
    await call(worker, 'POST', '/rest/registry/device', basic(web.variantID, web.secret), {
      deviceToken: subscription,
      alias: 'ada@example.com',
      categories: ['orders'],
    })

    await page.reload()
    const count = page.locator(`#variant-${web.variantID} [data-field="device-count"]`)
    expect(await count.textContent()).toBe('1')
    await page.click('#tab-installations')
    await page.waitForURL(`${base()}/installations`)
    expect(await visits.snap(page, 'installations')).toContain('ada@example.com')
  })

  it('sends from the dialog and shows the send reach delivered on the Activity tab', async () => {
    await page.goto(base())
    await page.click('#open-send')
    expect(await page.isVisible('#send-dialog')).toBe(true)
    await page.fill('#send-alert', ALERT)
    await visits.snap(page, 'send-dialog')
    await page.click('#send-submit')
    await page.waitForURL(/\/activity\?sent=/)
    const id = new URL(page.url()).searchParams.get('sent') ?? ''
    expect(RUNNING).toContain(await page.getAttribute(`#job-${id}`, 'data-status'))
    await visits.snap(page, 'activity-running')

    // The page is not reloaded: the client script updates the bars while the send runs. A mark
    // on the window survives only as long as the document does.
    await page.evaluate('window.__stillTheSamePage = true')
    const progress = page.locator(`#job-${id} .progress[data-variant="${web.variantID}"]`)
    await expect
      .poll(() => progress.getAttribute('data-status'), {
        timeout: DELIVERED_TIMEOUT_MS,
        interval: 250,
      })
      .toBe('done')
    expect(await page.evaluate('window.__stillTheSamePage')).toBe(true)
    const count = (field: string) => progress.locator(`[data-field="${field}"]`).textContent()
    expect({
      delivered: await count('delivered'),
      failed: await count('failed'),
      invalidTokens: await count('invalidTokens'),
      pending: await count('pending'),
      receivers: await count('receivers'),
    }).toEqual({ delivered: '1', failed: '0', invalidTokens: '0', pending: '0', receivers: '1' })
    expect(await page.textContent(`#job-${id} [data-field="job-status"]`)).toBe('done')
    await visits.snap(page, 'activity-delivered')

    const pushes = Deliveries.parse(
      await fake(
        webPush?.url ?? '',
        'GET',
        `/_deliveries?endpoint=${encodeURIComponent(endpoint)}`,
      ),
    )
    expect(pushes.map((push) => push.status)).toEqual([201])
    expect(pushes[0]?.payload).toMatchObject({ alert: ALERT, 'aerogear-push-id': id })
    expect(await fake(webPush?.url ?? '', 'GET', '/_unexpected')).toEqual([])
  })

  it('shows the send on the dashboard, chart included', async () => {
    await page.goto(`${worker.url}/ui/`)
    await page.locator('#daily-chart canvas').waitFor()
    expect({
      applications: await page.textContent('#total-applications'),
      devices: await page.textContent('#total-devices'),
      messages: await page.textContent('#total-messages'),
    }).toEqual({ applications: '1', devices: '1', messages: '1' })
    expect(await page.textContent('#latest-sends')).toContain(ALERT)
    expect(await page.textContent('#chart-summary')).toContain('1 send, 1 delivered')
    await visits.snap(page, 'dashboard')
    if (process.env.UPDATE_DASHBOARD_PNG === '1') await page.screenshot({ path: DASHBOARD_PNG })
  })

  it('shows the master secret that backends really send with', async () => {
    const sender = (secret: string) =>
      fetch(`${worker.url}/rest/sender`, {
        method: 'POST',
        headers: { authorization: basic(pushAppID, secret), 'content-type': 'application/json' },
        body: JSON.stringify({ message: { alert: 'nobody' }, criteria: { alias: ['nobody'] } }),
      })
    expect((await sender(`${masterSecret}x`)).status).toBe(401)
    expect((await sender(masterSecret)).status).toBe(202)
  })

  it('never lets a private key or the admin token reach the browser', async () => {
    const keys = knownKeys()
    const id = await applicationWithKnownKeys(keys)
    const app = `${worker.url}/ui/applications/${id}`
    const pages: [string, string][] = [
      ['keys-variants', app],
      ['keys-guide', `${app}/guide`],
      ['keys-installations', `${app}/installations`],
      ['keys-sender', `${app}/sender`],
      ['keys-activity', `${app}/activity`],
      ['keys-send', `${app}/send`],
      ['applications', `${worker.url}/ui/applications`],
      ['dashboard-two-apps', `${worker.url}/ui/`],
    ]
    for (const [name, url] of pages) {
      await page.goto(url)
      await visits.snap(page, name)
    }

    const seen = await visits.seen()
    // Chromium drops the body of a fetch whose page moved on at once (a form's answer before
    // the script navigates): none of those may concern the application that holds the keys.
    const missed = seen.filter((s) => s.missed !== undefined).map((s) => s.what)
    expect(missed.filter((what) => what.includes(id))).toEqual([])
    // The right pages were read: the public halves of the keys are on them.
    const all = seen.map((s) => s.text).join('\n')
    for (const shown of [keys.vapid.publicKey, 'ABC123DEFG', keys.serviceAccount.client_email]) {
      expect(all).toContain(shown)
    }
    const forbidden = [
      ...keys.secrets,
      { name: 'a PEM private key', text: 'PRIVATE KEY-----' },
      { name: 'the admin token', text: worker.adminToken },
    ]
    const leaks = seen.flatMap((s) =>
      forbidden.filter((secret) => s.text.includes(secret.text)).map((f) => `${f.name}: ${s.what}`),
    )
    expect(leaks).toEqual([])
  })

  it('signs out and then sends every page back to sign-in', async () => {
    await page.goto(`${worker.url}/ui/`)
    await page.click('#signout')
    await page.waitForURL(`${worker.url}/ui/signin`)
    expect(await context.cookies()).toEqual([])
    await page.goto(base())
    expect(new URL(page.url()).pathname).toBe('/ui/signin')
    await visits.snap(page, 'signed-out')
  })

  /** An application with one variant per network, each holding a private key the test chose. */
  async function applicationWithKnownKeys(keys: KnownKeys): Promise<string> {
    const { pushApplicationID } = App.parse(
      await admin(worker, 'POST', '/rest/applications', { name: 'Key holder' }),
    )
    const variants = `/rest/applications/${pushApplicationID}`
    await admin(worker, 'POST', `${variants}/web_push`, {
      name: 'Web with a known VAPID pair',
      alias: 'mailto:ops@example.com',
      ...keys.vapid,
    })
    await admin(worker, 'POST', `${variants}/ios_token`, {
      name: 'iOS with a known .p8',
      privateKey: keys.p8,
      keyId: 'ABC123DEFG',
      teamId: 'DEF123GHIJ',
      bundleId: 'com.example.keys',
      production: false,
    })
    await admin(worker, 'POST', `${variants}/android`, {
      name: 'Android with a known service account',
      serviceAccount: keys.serviceAccount,
    })
    return pushApplicationID
  }
})
