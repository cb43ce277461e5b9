/**
 * The dashboard: totals, variants whose recent sends had failures, the latest sends, and a
 * chart of sends and their outcomes per day over the metrics retention window. The chart is
 * drawn by the client script with uPlot from a JSON block of the page; the same numbers stand
 * in a table below it, for screen readers and browsers without JavaScript.
 */
import { raw } from 'hono/html'
import { z } from 'zod'
import { readConfig } from '../../config'
import { openDb } from '../../db/client'
import { dailyOutcomes } from '../../db/metrics'
import { getApi, type UiContext } from '../api'
import { formatDate, Progress } from '../components'
import { render } from '../render'
import { alertOf, type Job, Job as JobShape, Totals, Warning } from '../shapes'

const DAY_MS = 24 * 60 * 60 * 1000

export type DayRow = {
  day: number
  sends: number
  delivered: number
  failed: number
  pruned: number
}

/** One row per UTC day of the window, oldest first, zeros where nothing was sent. */
export function fillDays(rows: DayRow[], days: number, now: number): DayRow[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS
  const known = new Map(rows.map((r) => [r.day, r]))
  return Array.from({ length: days }, (_, i) => {
    const day = today - (days - 1 - i) * DAY_MS
    return known.get(day) ?? { day, sends: 0, delivered: 0, failed: 0, pruned: 0 }
  })
}

/** JSON for a `<script type="application/json">` block: `<` escaped so no tag can close it. */
export function jsonBlock(value: unknown) {
  return raw(JSON.stringify(value).replaceAll('<', '\\u003c'))
}

function Chart(props: { days: DayRow[]; retention: number }) {
  const sum = (key: keyof DayRow) => props.days.reduce((n, d) => n + d[key], 0)
  const sends = sum('sends')
  const summary =
    `Over the last ${props.retention} days: ${sends} ${sends === 1 ? 'send' : 'sends'}, ` +
    `${sum('delivered')} delivered, ${sum('failed')} failed, ${sum('pruned')} pruned.`
  return (
    <section aria-labelledby="chart-title" class="panel">
      <h2 id="chart-title">Sends and outcomes per day</h2>
      <p id="chart-summary">{summary}</p>
      <div id="daily-chart" class="chart" role="img" aria-labelledby="chart-summary" />
      <script type="application/json" id="daily-data">
        {jsonBlock(props.days)}
      </script>
      <details>
        <summary>Show the numbers as a table</summary>
        <section class="table-wrap" aria-label="Sends per day" tabindex={0}>
          <table id="daily-table">
            <caption>Sends and device outcomes per day (UTC)</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Sends</th>
                <th scope="col">Delivered</th>
                <th scope="col">Failed</th>
                <th scope="col">Pruned</th>
              </tr>
            </thead>
            <tbody>
              {props.days.map((d) => (
                <tr>
                  <th scope="row">{new Date(d.day).toISOString().slice(0, 10)}</th>
                  <td>{d.sends}</td>
                  <td>{d.delivered}</td>
                  <td>{d.failed}</td>
                  <td>{d.pruned}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </details>
    </section>
  )
}

function LatestSends(props: { jobs: Job[] }) {
  return (
    <section aria-labelledby="latest-title" class="panel">
      <h2 id="latest-title">Latest sends</h2>
      {props.jobs.length === 0 ? (
        <p>Nothing sent yet.</p>
      ) : (
        <ul class="jobs" id="latest-sends">
          {props.jobs.map((job) => (
            <li class="job" id={`job-${job.id}`} data-job={job.id} data-status={job.status}>
              <p class="job-head">
                <a href={`/ui/applications/${encodeURIComponent(job.pushApplicationId)}/activity`}>
                  {job.applicationName ?? job.pushApplicationId}
                </a>
                : <q>{alertOf(job) ?? '(no alert)'}</q>{' '}
                <time datetime={new Date(job.submitDate).toISOString()}>
                  {formatDate(job.submitDate)}
                </time>{' '}
                <span class="status" data-field="job-status">
                  {job.status}
                </span>
              </p>
              {job.variants.map((v) => (
                <Progress variant={v} label={`${v.type} ${v.variantID}`} />
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function Warnings(props: { rows: Warning[] }) {
  return (
    <section aria-labelledby="warnings-title" class="panel">
      <h2 id="warnings-title">Variants with recent failures</h2>
      {props.rows.length === 0 ? (
        <p>No failures in the last 7 days.</p>
      ) : (
        <ul id="warnings">
          {props.rows.map((w) => (
            <li>
              <a href={`/ui/applications/${encodeURIComponent(w.pushApplicationID)}`}>
                {w.applicationName} / {w.name}
              </a>{' '}
              ({w.type}): {w.failed} failed{w.lastReason ? `, last reason ${w.lastReason}` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

export async function dashboard(c: UiContext) {
  const retention = readConfig(c.env).METRICS_RETENTION_DAYS
  const now = Date.now()
  const [totals, warnings, active, daily] = await Promise.all([
    getApi(c, '/rest/metrics/dashboard', Totals),
    getApi(c, '/rest/metrics/dashboard/warnings', z.array(Warning)),
    getApi(c, '/rest/metrics/dashboard/active?count=5', z.array(JobShape)),
    dailyOutcomes(openDb(c.env), Math.floor(now / DAY_MS - (retention - 1)) * DAY_MS),
  ])
  const t = totals.body
  return render(
    c,
    { title: 'Dashboard', section: 'dashboard', chart: true },
    <>
      <section aria-label="Totals" class="totals">
        <p>
          <span class="total" id="total-applications">
            {t.applications}
          </span>{' '}
          applications
        </p>
        <p>
          <span class="total" id="total-devices">
            {t.devices}
          </span>{' '}
          devices
        </p>
        <p>
          <span class="total" id="total-messages">
            {t.messages}
          </span>{' '}
          messages
        </p>
      </section>
      {t.applications === 0 ? (
        <p class="panel">
          No application yet. <a href="/ui/applications#create-app">Create the first one</a>.
        </p>
      ) : null}
      <Chart days={fillDays(daily, retention, now)} retention={retention} />
      <Warnings rows={warnings.body} />
      <LatestSends jobs={active.body} />
    </>,
  )
}
