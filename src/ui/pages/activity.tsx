/**
 * The Activity tab: this application's sends, newest first, each with its alert, time, status,
 * open count and per-variant progress (delivered, failed, pruned, pending, with the networks'
 * reasons). While a send runs, the client script follows `/rest/metrics/messages/{id}` and
 * updates its bars in place, and re-reads the summary's counts from this list's headers.
 */
import { z } from 'zod'
import { getApi, type UiContext } from '../api'
import { formatDate, Pager, Progress, TYPE_NAMES } from '../components'
import { alertOf, headerCount, type Job, Job as JobShape, type Variant } from '../shapes'
import { loadApp, renderApp } from './application'

const PER_PAGE = 10

const Query = z.object({
  page: z.coerce.number().int().min(0).max(100_000).catch(0),
  sent: z.string().max(64).optional().catch(undefined),
})

function variantLabel(variants: Variant[], variantID: string, type: string) {
  const v = variants.find((x) => x.variantID === variantID)
  return v ? `${v.name} (${TYPE_NAMES[v.type]})` : `${type} ${variantID}`
}

function JobItem(props: { job: Job; variants: Variant[]; highlight: boolean }) {
  const { job } = props
  return (
    <li
      class={props.highlight ? 'job card highlight' : 'job card'}
      id={`job-${job.id}`}
      data-job={job.id}
      data-status={job.status}
    >
      <h3 class="job-head">
        <q>{alertOf(job) ?? '(no alert)'}</q>
      </h3>
      <p class="muted">
        <time datetime={new Date(job.submitDate).toISOString()}>{formatDate(job.submitDate)}</time>
        {' · '}
        <span class="status" data-field="job-status">
          {job.status}
        </span>
        {' · receivers: '}
        <span data-field="totalReceivers">{job.totalReceivers}</span>
        {' · opened: '}
        <span data-field="appOpenCounter">{job.appOpenCounter}</span>
      </p>
      {job.variants.length === 0 ? <p>No variant was targeted.</p> : null}
      {job.variants.map((v) => (
        <Progress variant={v} label={variantLabel(props.variants, v.variantID, v.type)} />
      ))}
    </li>
  )
}

export async function activityTab(c: UiContext) {
  const loaded = await loadApp(c)
  const { app, base } = loaded
  const query = Query.parse(c.req.query())
  // The client script re-reads this list's count headers while a send runs.
  const summaryPath = `/rest/metrics/messages/application/${encodeURIComponent(app.pushApplicationID)}`
  const { body, headers } = await getApi(
    c,
    `${summaryPath}?page=${query.page}&per_page=${PER_PAGE}&sort=desc`,
    z.array(JobShape),
  )
  const total = headerCount(headers, 'total')
  return renderApp(
    c,
    loaded,
    'activity',
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <p id="activity-summary" data-summary={summaryPath}>
        Sends: <span id="activity-sends">{total}</span>, receivers:{' '}
        <span id="activity-receivers">{headerCount(headers, 'receivers')}</span>, opened:{' '}
        <span id="activity-opened">{headerCount(headers, 'appOpenedCounter')}</span>.
      </p>
      {body.length === 0 ? (
        <p>Nothing sent yet. Use “Send a message” above.</p>
      ) : (
        <ul class="cards jobs" id="jobs">
          {body.map((job) => (
            <JobItem job={job} variants={app.variants} highlight={job.id === query.sent} />
          ))}
        </ul>
      )}
      <Pager page={query.page} perPage={PER_PAGE} total={total} href={`${base}/activity`} />
    </section>,
  )
}
