/**
 * `/rest/metrics`: what happened to each send, with live per-variant progress, and the
 * dashboard's totals. **fix** over UPS: real delivery counts, and for every job and variant
 * `receivers = delivered + failed + invalidTokens + pending`.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { findApplication } from '../db/applications'
import { openDb } from '../db/client'
import { findJob } from '../db/jobs'
import {
  dashboardTotals,
  type JobRow,
  jobsOfApplication,
  latestJobs,
  progressOf,
  type VariantProgress,
  variantsWithFailures,
} from '../db/metrics'
import { notFound } from './errors'
import { readQuery } from './input'
import { readPaging, setPageHeaders } from './paging'
import type { AppEnv } from './types'

const WARNING_WINDOW_MS = 7 * 24 * 60 * 60 * 1000

function presentJob(job: JobRow, pushApplicationId: string, progress: VariantProgress[]) {
  const variants = progress.map(({ planned, type, ...v }) => ({
    ...v,
    type,
    status: planned && v.pending === 0 ? 'done' : 'sending',
  }))
  return {
    id: job.id,
    pushApplicationId,
    rawJsonMessage: job.rawJsonMessage,
    ipAddress: job.ipAddress,
    clientIdentifier: job.clientIdentifier,
    submitDate: job.submitDate,
    appOpenCounter: job.appOpenCounter,
    firstOpenDate: job.firstOpenDate,
    lastOpenDate: job.lastOpenDate,
    totalReceivers: job.totalReceivers,
    status: job.status,
    variants,
  }
}

export const metricsRoutes = new Hono<AppEnv>()

metricsRoutes.get('/messages/application/:pushAppID', async (c) => {
  const paging = readPaging(c, { perPage: 10, maxPerPage: 50 })
  const { sort } = readQuery(c, z.looseObject({ sort: z.enum(['asc', 'desc']).default('desc') }))
  const db = openDb(c.env)
  const app = await findApplication(db, c.req.param('pushAppID'))
  if (!app) throw notFound('Application')
  const page = await jobsOfApplication(db, app.id, { ...paging, ascending: sort === 'asc' })
  const progress = await progressOf(
    db,
    page.jobs.map((j) => j.id),
  )
  setPageHeaders(c, paging, page.total)
  c.header('receivers', String(page.receivers))
  c.header('appOpenedCounter', String(page.appOpened))
  return c.json(
    page.jobs.map((job) => presentJob(job, app.pushApplicationId, progress.get(job.id) ?? [])),
  )
})

metricsRoutes.get('/messages/:id', async (c) => {
  const db = openDb(c.env)
  const job = await findJob(db, c.req.param('id'))
  if (!job) throw notFound('Push message')
  const [app, progress] = await Promise.all([
    db.query.applications.findFirst({ where: (a, { eq }) => eq(a.id, job.applicationId) }),
    progressOf(db, [job.id]),
  ])
  return c.json(presentJob(job, app?.pushApplicationId ?? '', progress.get(job.id) ?? []))
})

metricsRoutes.get('/dashboard', async (c) => c.json(await dashboardTotals(openDb(c.env))))

metricsRoutes.get('/dashboard/warnings', async (c) => {
  const rows = await variantsWithFailures(openDb(c.env), Date.now() - WARNING_WINDOW_MS, 50)
  return c.json(rows)
})

metricsRoutes.get('/dashboard/active', async (c) => {
  const { count } = readQuery(
    c,
    z.looseObject({ count: z.coerce.number().int().min(1).max(50).default(3) }),
  )
  const db = openDb(c.env)
  const rows = await latestJobs(db, count)
  const progress = await progressOf(
    db,
    rows.map((r) => r.job.id),
  )
  return c.json(
    rows.map((r) => ({
      ...presentJob(r.job, r.pushApplicationID, progress.get(r.job.id) ?? []),
      applicationName: r.applicationName,
    })),
  )
})
