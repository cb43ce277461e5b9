import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index'
import { call } from '../helpers'

const DAY = 24 * 60 * 60 * 1000
const NOW = Date.UTC(2026, 11, 3, 3, 17)

async function insertJob(applicationId: string, id: string, submitDate: number) {
  await env.DB.prepare(
    `INSERT INTO push_jobs (id, application_id, raw_json_message, submit_date) VALUES (?, ?, '{}', ?)`,
  )
    .bind(id, applicationId, submitDate)
    .run()
}

describe('the daily cron', () => {
  it('deletes jobs older than METRICS_RETENTION_DAYS with their counters, and nothing newer', async () => {
    const created = await call('POST', '/rest/applications', { body: { name: 'retention' } })
    const app = await created.json<{ id: string; pushApplicationID: string }>()
    const variant = await call('POST', `/rest/applications/${app.pushApplicationID}/web_push`, {
      body: { name: 'web', alias: 'mailto:ops@example.com' },
    }).then((r) => r.json<{ id: string }>())

    await insertJob(app.id, 'old-job', NOW - 31 * DAY)
    await insertJob(app.id, 'edge-job', NOW - 30 * DAY + 1000)
    await insertJob(app.id, 'new-job', NOW - DAY)
    for (const job of ['old-job', 'new-job']) {
      await env.DB.prepare(
        `INSERT INTO job_variants (job_id, variant_id, receivers, pending, updated_at) VALUES (?, ?, 1, 1, ?)`,
      )
        .bind(job, variant.id, NOW)
        .run()
    }
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (application_id, key, job_id, created_at) VALUES (?, 'k-old', 'old-job', ?), (?, 'k-new', 'new-job', ?)`,
    )
      .bind(app.id, NOW - 2 * DAY, app.id, NOW - 60_000)
      .run()

    const ctx = createExecutionContext()
    await worker.scheduled(
      createScheduledController({ scheduledTime: NOW, cron: '17 3 * * *' }),
      env,
      ctx,
    )
    await waitOnExecutionContext(ctx)

    const jobs = await env.DB.prepare(
      'SELECT id FROM push_jobs WHERE application_id = ? ORDER BY id',
    )
      .bind(app.id)
      .all<{ id: string }>()
    expect(jobs.results.map((j) => j.id)).toEqual(['edge-job', 'new-job'])
    const counters = await env.DB.prepare('SELECT job_id FROM job_variants WHERE variant_id = ?')
      .bind(variant.id)
      .all<{ job_id: string }>()
    expect(counters.results.map((c) => c.job_id)).toEqual(['new-job'])
    const keys = await env.DB.prepare('SELECT key FROM idempotency_keys WHERE application_id = ?')
      .bind(app.id)
      .all<{ key: string }>()
    expect(keys.results.map((k) => k.key)).toEqual(['k-new'])
  })

  it('closes a send that has not moved for a day, counting what was pending as failed', async () => {
    const app = await call('POST', '/rest/applications', { body: { name: 'stale' } }).then((r) =>
      r.json<{ id: string; pushApplicationID: string }>(),
    )
    const variant = await call('POST', `/rest/applications/${app.pushApplicationID}/web_push`, {
      body: { name: 'web', alias: 'mailto:ops@example.com' },
    }).then((r) => r.json<{ id: string }>())
    await insertJob(app.id, 'stuck-job', NOW - 2 * DAY)
    await insertJob(app.id, 'moving-job', NOW - 2 * DAY)
    await env.DB.prepare(
      `INSERT INTO job_variants (job_id, variant_id, receivers, delivered, pending, planned, updated_at)
       VALUES ('stuck-job', ?, 10, 7, 3, 1, ?), ('moving-job', ?, 10, 7, 3, 1, ?)`,
    )
      .bind(variant.id, NOW - 2 * DAY, variant.id, NOW - 60_000)
      .run()

    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime: NOW }), env, ctx)
    await waitOnExecutionContext(ctx)

    const rows = await env.DB.prepare(
      `SELECT j.id, j.status, v.receivers, v.delivered, v.failed, v.invalid_tokens, v.pending, v.reason
       FROM push_jobs j JOIN job_variants v ON v.job_id = j.id WHERE j.application_id = ? ORDER BY j.id`,
    )
      .bind(app.id)
      .all()
    expect(rows.results).toEqual([
      {
        id: 'moving-job',
        status: 'queued',
        receivers: 10,
        delivered: 7,
        failed: 0,
        invalid_tokens: 0,
        pending: 3,
        reason: null,
      },
      {
        id: 'stuck-job',
        status: 'done',
        receivers: 10,
        delivered: 7,
        failed: 3,
        invalid_tokens: 0,
        pending: 0,
        reason: 'abandoned',
      },
    ])
  })
})
