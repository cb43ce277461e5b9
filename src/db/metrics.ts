/**
 * Reads for the metrics API: jobs with their per-variant counters and reasons, and the
 * dashboard's totals. Counters are read as stored; the pipeline keeps them consistent.
 */
import { and, count, desc, eq, gt, gte, inArray, sql, sum } from 'drizzle-orm'
import { chunk, type Db, MAX_BOUND_PARAMETERS } from './client'
import { applications, installations, jobReasons, jobVariants, pushJobs, variants } from './schema'

export type JobRow = typeof pushJobs.$inferSelect

export type VariantProgress = {
  variantID: string
  type: string
  receivers: number
  delivered: number
  failed: number
  invalidTokens: number
  pending: number
  planned: boolean
  reason: string | null
  reasons: Record<string, number>
}

/** Per-variant counters and failure reasons of these jobs. */
export async function progressOf(db: Db, jobIds: string[]) {
  const byJob = new Map<string, VariantProgress[]>()
  for (const ids of chunk(jobIds, MAX_BOUND_PARAMETERS - 1)) {
    const [rows, reasons] = await Promise.all([
      db
        .select({
          jobId: jobVariants.jobId,
          variantDbId: jobVariants.variantId,
          variantID: variants.variantId,
          type: variants.type,
          receivers: jobVariants.receivers,
          delivered: jobVariants.delivered,
          failed: jobVariants.failed,
          invalidTokens: jobVariants.invalidTokens,
          pending: jobVariants.pending,
          planned: jobVariants.planned,
          reason: jobVariants.reason,
        })
        .from(jobVariants)
        .innerJoin(variants, eq(variants.id, jobVariants.variantId))
        .where(inArray(jobVariants.jobId, ids))
        .orderBy(variants.createdAt),
      db.select().from(jobReasons).where(inArray(jobReasons.jobId, ids)),
    ])
    for (const { jobId, variantDbId, ...row } of rows) {
      const own = reasons.filter((r) => r.jobId === jobId && r.variantId === variantDbId)
      const progress = { ...row, reasons: Object.fromEntries(own.map((r) => [r.reason, r.count])) }
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), progress])
    }
  }
  return byJob
}

function searchCondition(applicationId: string, search: string | undefined) {
  const own = eq(pushJobs.applicationId, applicationId)
  if (!search) return own
  return and(own, sql`instr(lower(${pushJobs.rawJsonMessage}), ${search.toLowerCase()}) > 0`)
}

export async function jobsOfApplication(
  db: Db,
  applicationId: string,
  paging: { offset: number; perPage: number; search?: string | undefined; ascending: boolean },
) {
  const where = searchCondition(applicationId, paging.search)
  const [totals] = await db
    .select({
      n: count(),
      receivers: sum(pushJobs.totalReceivers),
      opened: sum(pushJobs.appOpenCounter),
    })
    .from(pushJobs)
    .where(where)
  const jobs = await db
    .select()
    .from(pushJobs)
    .where(where)
    .orderBy(paging.ascending ? pushJobs.submitDate : desc(pushJobs.submitDate), pushJobs.id)
    .limit(paging.perPage)
    .offset(paging.offset)
  return {
    total: totals?.n ?? 0,
    receivers: Number(totals?.receivers ?? 0),
    appOpened: Number(totals?.opened ?? 0),
    jobs,
  }
}

export async function latestJobs(db: Db, limit: number) {
  return db
    .select({
      job: pushJobs,
      applicationName: applications.name,
      pushApplicationID: applications.pushApplicationId,
    })
    .from(pushJobs)
    .innerJoin(applications, eq(applications.id, pushJobs.applicationId))
    .orderBy(desc(pushJobs.submitDate), pushJobs.id)
    .limit(limit)
}

export async function dashboardTotals(db: Db) {
  const [[apps], [devices], [messages]] = await Promise.all([
    db.select({ n: count() }).from(applications),
    db.select({ n: count() }).from(installations),
    db.select({ n: count() }).from(pushJobs),
  ])
  return { applications: apps?.n ?? 0, devices: devices?.n ?? 0, messages: messages?.n ?? 0 }
}

/** Variants whose jobs since `since` had failed devices, most failures first. */
export async function variantsWithFailures(db: Db, since: number, limit: number) {
  return db
    .select({
      variantID: variants.variantId,
      name: variants.name,
      type: variants.type,
      pushApplicationID: applications.pushApplicationId,
      applicationName: applications.name,
      failed: sql<number>`sum(${jobVariants.failed})`,
      // The variant's own problem if it had one, else its most frequent failure reason.
      lastReason: sql<string | null>`COALESCE(max(${jobVariants.reason}), (
        SELECT ${jobReasons.reason} FROM ${jobReasons}
        JOIN ${pushJobs} recent ON recent.id = ${jobReasons.jobId}
        WHERE ${jobReasons.variantId} = ${variants.id} AND recent.submit_date > ${since}
        GROUP BY ${jobReasons.reason} ORDER BY sum(${jobReasons.count}) DESC LIMIT 1))`,
    })
    .from(jobVariants)
    .innerJoin(pushJobs, eq(pushJobs.id, jobVariants.jobId))
    .innerJoin(variants, eq(variants.id, jobVariants.variantId))
    .innerJoin(applications, eq(applications.id, variants.applicationId))
    .where(and(gt(pushJobs.submitDate, since), gt(jobVariants.failed, 0)))
    .groupBy(variants.id)
    .orderBy(desc(sql`sum(${jobVariants.failed})`))
    .limit(limit)
}

/** Counts an "app opened" for a job of this application; answers whether the job was found. */
export async function countOpen(db: Db, jobId: string, applicationId: string, now: number) {
  const updated = await db
    .update(pushJobs)
    .set({
      appOpenCounter: sql`${pushJobs.appOpenCounter} + 1`,
      firstOpenDate: sql`COALESCE(${pushJobs.firstOpenDate}, ${now})`,
      lastOpenDate: now,
    })
    .where(and(eq(pushJobs.id, jobId), eq(pushJobs.applicationId, applicationId)))
    .returning({ id: pushJobs.id })
  return updated.length === 1
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Sends and their outcomes per UTC day since `since`, oldest first; days without a send are
 * absent. `day` is the day's start (Unix ms). Outcomes add up the per-variant counters.
 */
export async function dailyOutcomes(db: Db, since: number) {
  // A literal, not a bound parameter: D1 binds JS numbers as REAL, and the division must be
  // SQLite's integer division to floor each time to its day.
  const dayMs = sql.raw(String(DAY_MS))
  const day = sql<number>`(${pushJobs.submitDate} / ${dayMs}) * ${dayMs}`
  const [sends, outcomes] = await Promise.all([
    db
      .select({ day, sends: count() })
      .from(pushJobs)
      .where(gte(pushJobs.submitDate, since))
      .groupBy(day),
    db
      .select({
        day,
        delivered: sql<number>`coalesce(sum(${jobVariants.delivered}), 0)`,
        failed: sql<number>`coalesce(sum(${jobVariants.failed}), 0)`,
        pruned: sql<number>`coalesce(sum(${jobVariants.invalidTokens}), 0)`,
      })
      .from(jobVariants)
      .innerJoin(pushJobs, eq(pushJobs.id, jobVariants.jobId))
      .where(gte(pushJobs.submitDate, since))
      .groupBy(day),
  ])
  const byDay = new Map(outcomes.map((o) => [Number(o.day), o]))
  return sends
    .map((s) => {
      const o = byDay.get(Number(s.day))
      return {
        day: Number(s.day),
        sends: s.sends,
        delivered: Number(o?.delivered ?? 0),
        failed: Number(o?.failed ?? 0),
        pruned: Number(o?.pruned ?? 0),
      }
    })
    .sort((a, b) => a.day - b.day)
}
