/**
 * The Activity tab's summary line: its counts stand in elements the client script rewrites while
 * a send runs, from the headers of the list it names, fetched as the script does (cookie only).
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createApp, createVariant } from '../http/fixtures'
import { type Browser, fetchApi, get, signIn } from './session'

function summaryOf(html: string) {
  const match =
    /<p id="activity-summary" data-summary="([^"]+)">Sends: <span id="activity-sends">(\d+)<\/span>, receivers: <span id="activity-receivers">(\d+)<\/span>, opened: <span id="activity-opened">(\d+)<\/span>\.<\/p>/.exec(
      html,
    )
  if (!match) throw new Error('no summary line on the page')
  const [, path = '', sends, receivers, opened] = match
  return { path, counts: [sends, receivers, opened].map(Number) }
}

/** The request the script makes for the summary: the session cookie, no CSRF token. */
async function headersOf(browser: Browser, path: string) {
  const res = await get(browser, `${path}?per_page=1`, { Accept: 'application/json' })
  expect(res.status).toBe(200)
  await res.body?.cancel()
  return ['total', 'receivers', 'appOpenedCounter'].map((name) => Number(res.headers.get(name)))
}

describe('the activity summary', () => {
  it('names the list whose headers carry its counts, and those headers follow the sends', async () => {
    const app = await createApp('Summary')
    await createVariant(app.pushApplicationID, 'web_push')
    const browser = await signIn()
    const base = `/ui/applications/${app.pushApplicationID}`
    const sent = await fetchApi(browser, 'POST', `${base}/send`, { message: { alert: 'hi' } })
    expect(sent.status).toBe(202)

    const { path, counts } = summaryOf(await (await get(browser, `${base}/activity`)).text())
    expect(path).toBe(`/rest/metrics/messages/application/${app.pushApplicationID}`)
    expect(await headersOf(browser, path)).toEqual(counts)

    // As the pipeline counts receivers and opens while the send runs.
    await env.DB.prepare('UPDATE push_jobs SET total_receivers = 3, app_open_counter = 1').run()
    expect(await headersOf(browser, path)).toEqual([1, 3, 1])
  })
})
