/// <reference types="node" />
/**
 * `npm run bench:h2`: notifications per second over ONE HTTP/2 connection to one local sink,
 * Pushgate's `h2` client in workerd against Node's own `http2` client, and the ratio of the two
 * (goal: at least 1.0). bench/README.md, "The h2 transport against Node's http2", says what each
 * row measures and how.
 *
 * Three processes besides this one: the sink (sink.ts), the Node client (node-client.ts) and
 * workerd running the bench Worker (worker.ts) under wrangler. A warm-up run of every row comes
 * first, then BENCH_H2_RUNS rounds, each running every row once in turn, so that load from
 * elsewhere on the machine falls on all of them; report.ts prints the median of each row.
 */
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, SignJWT } from 'jose'
import { type Unstable_DevWorker, unstable_dev } from 'wrangler'
import { forkChild } from './child'
import { ClientAnswer, ClientReady, type NodeRunRequest, SinkListening, SinkStats } from './ipc'
import { machine, workerdCpuMs } from './processes'
import { startProfiling, summarise } from './profile'
import { BenchResult, KEY_ID, TEAM_ID } from './protocol'
import { count, type Measured, median, printReport, ROW_NAMES, type Row } from './report'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..', '..')

const settings = {
  count: positive('BENCH_H2_COUNT', 10_000),
  /** In flight at once for both clients, and the sink's MAX_CONCURRENT_STREAMS. */
  window: positive('BENCH_H2_WINDOW', 1000),
  runs: positive('BENCH_H2_RUNS', 3),
  /** A directory: CPU profiles of workerd during one run of each Worker row are written there. */
  profile: process.env.BENCH_H2_PROFILE,
}

async function main() {
  const say = (line = '') => console.log(line)
  const facts = await machine(root)
  say(
    `h2 bench: ${settings.count} notifications per run, ${settings.window} in flight, ` +
      `${settings.runs} measured runs per row after a warm-up`,
  )

  const sink = await forkChild(
    path.join(here, 'sink.ts'),
    { ready: SinkListening, answer: SinkStats },
    { SINK_MAX_STREAMS: String(settings.window) },
  )
  const client = await forkChild(path.join(here, 'node-client.ts'), {
    ready: ClientReady,
    answer: ClientAnswer,
  })
  const inspectorPort = settings.profile ? await freePort() : undefined
  const worker = await unstable_dev(path.join(here, 'worker.ts'), {
    config: path.join(here, 'wrangler.toml'),
    ip: '127.0.0.1',
    persist: false,
    logLevel: 'error',
    ...(inspectorPort !== undefined && { inspect: true, inspectorPort }),
    experimental: { disableExperimentalWarning: true, disableDevRegistry: true, watch: false },
  })
  const stop = async () => {
    await worker.stop()
    sink.stop()
    client.stop()
  }
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)))

  try {
    const bearer = await providerToken()
    const sinkUrl = `http://127.0.0.1:${sink.ready.port}`
    let run = 0
    const once = async (row: Row): Promise<Measured> => {
      const input = { sink: sinkUrl, run: run++, count: settings.count, window: settings.window }
      sink.tell({ type: 'reset' })
      if (row === 'node') {
        const request: NodeRunRequest = { ...input, bearer }
        const answer = await client.ask(request)
        if ('error' in answer) throw new Error(`the Node client failed: ${answer.error}`)
        const { result } = answer
        const timing = { ms: result.ms, clientCpuMs: result.cpuMs }
        return check(row, result, timing, await sink.ask({ type: 'stats' }))
      }
      const cpuBefore = await workerdCpuMs()
      const started = performance.now()
      const response = await worker.fetch('/', {
        method: 'POST',
        body: JSON.stringify({ ...input, row, bearer, now: Date.now() }),
      })
      const ms = performance.now() - started
      const clientCpuMs = (await workerdCpuMs()) - cpuBefore
      const text = await response.text()
      const parsed = BenchResult.safeParse(parseJson(text))
      if (!parsed.success) throw new Error(`the bench Worker answered ${response.status}: ${text}`)
      const timing = { ms, innerMs: parsed.data.innerMs, clientCpuMs }
      return check(row, parsed.data, timing, await sink.ask({ type: 'stats' }))
    }

    const rows: Row[] = ['node', 'h2', 'adapter']
    for (const row of rows) await once(row)
    const overheadMs = await requestOverhead(worker)
    const measured: Measured[] = []
    for (let round = 0; round < settings.runs; round++) {
      for (const row of rows) {
        const m = await once(row)
        measured.push(m)
        const perSecond = count((settings.count * 1000) / m.ms)
        say(`  run ${round + 1} ${row.padEnd(7)} ${perSecond.padStart(8)}/s  ${m.ms.toFixed(0)} ms`)
      }
    }

    if (settings.profile) {
      const dir = path.resolve(settings.profile)
      for (const row of ['h2', 'adapter'] as const) {
        say()
        say(`CPU profile of workerd during one more ${row} run:`)
        const profiler = await startProfiling(inspectorPort ?? 0)
        await once(row)
        const file = await profiler.stop(path.join(dir, `workerd-${row}.cpuprofile`))
        say(`  ${file}`)
        for (const line of await summarise(file)) say(`  ${line}`)
      }
    }

    const loadAfter = (await machine(root)).load
    printReport({ measured, settings, machine: { ...facts, loadAfter }, overheadMs, say })
  } finally {
    await stop()
  }
}

/** Throws unless every notification of the run was answered 200 by the sink, on one connection. */
function check(
  row: Row,
  result: { ok: number; other: Record<string, number> },
  timing: Omit<Measured, 'row' | 'sink'>,
  sink: SinkStats,
): Measured {
  const problems: string[] = []
  if (result.ok !== settings.count) {
    problems.push(
      `${result.ok} of ${settings.count} answered 200, others: ${JSON.stringify(result.other)}`,
    )
  }
  if (sink.ok !== settings.count)
    problems.push(`the sink took ${sink.ok}, refused ${JSON.stringify(sink.bad)}`)
  if (sink.sessions !== 1) problems.push(`${sink.sessions} connections instead of one`)
  if (problems.length > 0) throw new Error(`${ROW_NAMES[row]}: ${problems.join('; ')}`)
  return { row, ...timing, sink }
}

/** The cost of one request to the bench Worker that does nothing (it answers 405): median of 21. */
async function requestOverhead(worker: Unstable_DevWorker): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 21; i++) {
    const started = performance.now()
    const response = await worker.fetch('/')
    await response.text()
    times.push(performance.now() - started)
  }
  return median(times)
}

/** An ES256 provider token shaped like Apple's (about 200 bytes), signed with a throwaway key. */
async function providerToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256')
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: KEY_ID })
    .setIssuer(TEAM_ID)
    .setIssuedAt()
    .sign(privateKey)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`)
  return value
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
