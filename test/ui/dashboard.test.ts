/**
 * The dashboard's numbers: totals, the per-day series behind the chart (and its table), the
 * latest sends with their progress, and the variants with recent failures.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { openDb } from '../../src/db/client'
import { dailyOutcomes } from '../../src/db/metrics'
import { type DayRow, fillDays } from '../../src/ui/pages/dashboard'
import { createApp, createVariant } from '../http/fixtures'
import { fetchApi, get, signIn } from './session'

const DAY = 24 * 60 * 60 * 1000

function chartData(html: string): DayRow[] {
  const json = /<script type="application\/json" id="daily-data">([^<]*)<\/script>/.exec(html)?.[1]
  if (json === undefined) throw new Error('no chart data on the page')
  return JSON.parse(json)
}

describe('fillDays', () => {
  it('gives one row per UTC day of the window, oldest first, zeros where nothing was sent', () => {
    const now = Date.UTC(2026, 10, 20, 15, 30)
    const today = Date.UTC(2026, 10, 20)
    const sent = { day: today - DAY, sends: 2, delivered: 5, failed: 1, pruned: 0 }
    const days = fillDays([sent], 3, now)
    expect(days).toEqual([
      { day: today - 2 * DAY, sends: 0, delivered: 0, failed: 0, pruned: 0 },
      sent,
      { day: today, sends: 0, delivered: 0, failed: 0, pruned: 0 },
    ])
  })
})

describe('the dashboard', () => {
  it('counts sends and outcomes per day over the retention window', async () => {
    const app = await createApp('Dashboard')
    const web = await createVariant(app.pushApplicationID, 'web_push')
    const browser = await signIn()
    for (const alert of ['one', 'two']) {
      const res = await fetchApi(
        browser,
        'POST',
        `/ui/applications/${app.pushApplicationID}/send`,
        {
          message: { alert },
        },
      )
      expect(res.status).toBe(202)
    }
    // Counters as the pipeline leaves them, and one send older than the window.
    const now = Date.now()
    await env.DB.prepare(
      'UPDATE job_variants SET receivers = 4, delivered = 3, invalid_tokens = 1, pending = 0',
    ).run()
    const appRow = await env.DB.prepare('SELECT id FROM applications WHERE push_application_id = ?')
      .bind(app.pushApplicationID)
      .first<{ id: string }>()
    await env.DB.prepare(
      `INSERT INTO push_jobs (id, application_id, raw_json_message, submit_date, status)
       VALUES (?, ?, '{"alert":"old"}', ?, 'done')`,
    )
      .bind(crypto.randomUUID(), appRow?.id, now - 40 * DAY)
      .run()

    const rows = await dailyOutcomes(openDb(env), Math.floor(now / DAY - 29) * DAY)
    expect(rows).toEqual([
      { day: Math.floor(now / DAY) * DAY, sends: 2, delivered: 6, failed: 0, pruned: 2 },
    ])

    const html = await (await get(browser, '/ui/')).text()
    const days = chartData(html)
    expect(days).toHaveLength(30)
    expect(days.at(-1)).toMatchObject({ sends: 2, delivered: 6, pruned: 2 })
    expect(days.slice(0, -1).every((d) => d.sends === 0)).toBe(true)
    expect(html).toContain('<span class="total" id="total-applications">1</span>')
    expect(html).toContain('<span class="total" id="total-messages">3</span>')
    expect(html).toContain('Over the last 30 days: 2 sends, 6 delivered, 0 failed, 2 pruned.')
    expect(html).toContain('<script src="/ui/assets/uplot.js" defer=""></script>')
    expect(html).toContain('id="latest-sends"')
    expect(html).toContain(`data-variant="${web.variantID}"`)
  })

  it('lists variants whose recent sends failed', async () => {
    const app = await createApp('Failing')
    await createVariant(app.pushApplicationID, 'android')
    const browser = await signIn()
    const res = await fetchApi(browser, 'POST', `/ui/applications/${app.pushApplicationID}/send`, {
      message: { alert: 'fails' },
    })
    const { id } = await res.json<{ id: string }>()
    await env.DB.prepare(
      "UPDATE job_variants SET receivers = 1, failed = 1, pending = 0, reason = 'UNAVAILABLE' WHERE job_id = ?",
    )
      .bind(id)
      .run()
    const html = await (await get(browser, '/ui/')).text()
    expect(html).toContain('id="warnings"')
    expect(html).toMatch(/Failing \/ android<\/a> \(android\): 1 failed, last reason UNAVAILABLE/)
  })
})
