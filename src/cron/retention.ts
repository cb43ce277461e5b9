/**
 * The daily cron: delete what has aged out. Jobs older than METRICS_RETENTION_DAYS go with their
 * counters (foreign keys cascade); idempotency keys live 24 hours; expired provider tokens go;
 * a send that has not moved for a day is closed (see closeStaleJobs).
 */
import { lt } from 'drizzle-orm'
import { readConfig } from '../config'
import { openDb } from '../db/client'
import { closeStaleJobs } from '../db/pipeline'
import { idempotencyKeys, providerTokens, pushJobs } from '../db/schema'

const DAY_MS = 24 * 60 * 60 * 1000

export async function runRetention(env: Env, now: number) {
  const db = openDb(env)
  const { METRICS_RETENTION_DAYS } = readConfig(env)
  const [jobs] = await db.batch([
    db
      .delete(pushJobs)
      .where(lt(pushJobs.submitDate, now - METRICS_RETENTION_DAYS * DAY_MS))
      .returning({ id: pushJobs.id }),
    db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - DAY_MS)),
    db.delete(providerTokens).where(lt(providerTokens.expiresAt, now)),
  ])
  const abandoned = await closeStaleJobs(db, DAY_MS, now)
  console.log(JSON.stringify({ event: 'retention', jobsDeleted: jobs.length, abandoned }))
}
