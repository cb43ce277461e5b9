/// <reference types="node" />
/**
 * Runs Workers under `wrangler dev` for the benchmarks. Like the integration harness
 * (test/integration/wrangler-dev.ts), Pushgate gets a throwaway D1 and Queues state in a temp
 * dir with the migrations applied, secrets in a temp env file and `--var` overrides. What the
 * harness does not do, and why this file exists:
 *
 * - It runs a copy of src/, migrations/ and wrangler.toml, made when the run starts: `wrangler
 *   dev` rebuilds and restarts workerd whenever a file it imports changes, which other engineers
 *   do all day under src/, and a restart loses the local queues' messages and the requests in
 *   flight mid-measurement. The copy also lets the queue consumer's settings (`max_batch_size`,
 *   `max_batch_timeout`, `max_concurrency`) and constants of src/ be varied without touching the
 *   files other engineers' tests read at the same time.
 * - wrangler's whole output is kept in a file, each line stamped with the bench's clock:
 *   miniflare's `QUEUE <queue> <acked>/<total> (<ms>ms)` line for every consumer batch is the
 *   evidence of what bounds throughput.
 * - It reads the CPU time of workerd from /proc.
 *
 * wrangler runs in its own process group under a guard that stops the group when this process
 * goes away, however it ends (workerd outlives a killed wrangler otherwise, and keeps a core of a
 * two-core machine busy).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { copyFile, cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Settings of the `pushgate-push` consumer; unset ones keep wrangler.toml's value. */
export type QueueSettings = {
  max_batch_size?: number
  max_batch_timeout?: number
  max_concurrency?: number
}

export type DevWorker = {
  url: string
  /** wrangler's output so far (stdout and stderr, interleaved, stamped). */
  log(): Promise<string>
  /** CPU time (user + system, ms) used so far by this instance's workerd processes. */
  workerdCpuMs(): Promise<number>
  /** Process ids of this instance's workerd processes. */
  workerdPids(): Promise<number[]>
  stop(): Promise<void>
}

export type PushgateWorker = DevWorker & { adminToken: string }

const root = fileURLToPath(new URL('..', import.meta.url))
const wranglerBin = path.join(root, 'node_modules/wrangler/bin/wrangler.js')
const host = '127.0.0.1'
const startTimeoutMs = 120_000

// The group leader: runs wrangler, exits with it, and stops the whole group when its stdin (a pipe
// from the bench) closes, which is also what happens when the bench is killed.
const guard = `
const { spawn } = require('node:child_process')
const child = spawn(process.execPath, process.argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] })
child.on('exit', (code) => process.exit(code ?? 1))
process.on('SIGTERM', () => {})
process.stdin.on('end', () => {
  process.kill(0, 'SIGTERM')
  setTimeout(() => process.kill(0, 'SIGKILL'), 3000)
})
process.stdin.resume()
`

/** Pushgate as src/ is now, with fresh local state. */
export async function startPushgate(
  opts: {
    vars?: Record<string, string>
    queue?: QueueSettings
    /** What-if: top-level constants of src/ replaced in the copy (src/ is not touched). */
    constants?: Record<string, number>
  } = {},
): Promise<PushgateWorker> {
  const dir = await snapshot(['src', 'migrations', 'tsconfig.json', 'package.json'])
  return removingOnFailure(dir, () => preparePushgate(dir, opts))
}

async function preparePushgate(
  dir: string,
  opts: Parameters<typeof startPushgate>[0] & {},
): Promise<PushgateWorker> {
  await patchConstants(path.join(dir, 'src'), opts.constants ?? {})
  const logFile = path.join(dir, 'wrangler.log')
  const project = await readFile(path.join(root, 'wrangler.toml'), 'utf8')
  const config = path.join(dir, 'wrangler.toml')
  await writeFile(config, benchConfig(project, opts.queue ?? {}))
  const served = await bundled(dir, config, logFile)

  const persist = path.join(dir, 'state')
  await runToEnd(
    ['d1', 'migrations', 'apply', 'DB', '--local', '-c', served, '--persist-to', persist],
    logFile,
  )

  const adminToken = randomBytes(32).toString('base64url')
  const envFile = path.join(dir, 'secrets.env')
  const credentialsKey = randomBytes(32).toString('base64')
  await writeFile(envFile, `ADMIN_TOKEN=${adminToken}\nCREDENTIALS_KEY=${credentialsKey}\n`, {
    mode: 0o600,
  })
  const vars = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`])
  const args = ['--persist-to', persist, '--env-file', envFile, ...vars]
  const worker = await serve(dir, served, logFile, args)
  return { ...worker, adminToken }
}

/** A bare Worker (no bindings) with the project's compatibility date and flags. */
export async function startPlainWorker(entry: string): Promise<DevWorker> {
  const dir = await snapshot([entry])
  return removingOnFailure(dir, async () => {
    const project = await readFile(path.join(root, 'wrangler.toml'), 'utf8')
    const compatibility = project.match(/^compatibility_(date|flags) = .*$/gm) ?? []
    const config = path.join(dir, 'wrangler.toml')
    const lines = ['name = "pushgate-bench"', `main = "${entry}"`, ...compatibility]
    await writeFile(config, `${lines.join('\n')}\n`)
    const logFile = path.join(dir, 'wrangler.log')
    return serve(dir, await bundled(dir, config, logFile), logFile, [])
  })
}

/** Runs `start`; if it throws, the temp dir goes (serve() removes it itself once it runs). */
async function removingOnFailure<T>(dir: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Bundles the copy once (`wrangler deploy --dry-run`) and answers a config that serves that
 * bundle as it is (`no_bundle`). `wrangler dev` would otherwise watch every file the bundle came
 * from, node_modules included, and restart on changes made elsewhere. Text modules (the
 * project's `[[rules]]`) come out of the build named `<hash>-<name>`: the rules' globs are
 * rewritten to match them, and `find_additional_modules` loads them beside the bundle.
 */
async function bundled(dir: string, config: string, logFile: string): Promise<string> {
  await runToEnd(
    ['deploy', '--dry-run', '--outdir', path.join(dir, 'bundle'), '-c', config],
    logFile,
  )
  const text = await readFile(config, 'utf8')
  // esbuild names the output after the entry point: src/index.ts gives index.js.
  const entry = path.basename(/^main = "(.*)"$/m.exec(text)?.[1] ?? 'index.ts')
  const main = `bundle/${entry.replace(/\.[cm]?[jt]s$/, '.js')}`
  const lines = [
    `main = "${main}"`,
    'no_bundle = true',
    'find_additional_modules = true',
    'base_dir = "bundle"',
  ]
  const served = text
    .replace(/^main = .*$/m, lines.join('\n'))
    .replace(/^globs = \[(.*)\]$/gm, (_, list: string) => `globs = [${bundledGlobs(list)}]`)
  const file = path.join(dir, 'served.toml')
  await writeFile(file, served)
  return file
}

/**
 * A temp dir holding a copy of these paths of the project and a link to its node_modules: what
 * `wrangler dev` builds and watches there is what the whole run measures, whatever is edited
 * in the work tree meanwhile.
 */
async function snapshot(paths: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pushgate-bench-'))
  for (const p of paths) await cp(path.join(root, p), path.join(dir, p), { recursive: true })
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  return dir
}

/** Replaces `const NAME = ...` at the top level of one file under `dir`, for each name. */
async function patchConstants(dir: string, constants: Record<string, number>) {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'))
  for (const [name, value] of Object.entries(constants)) {
    const declaration = new RegExp(`^((?:export )?const ${name}(?:: \\w+)? = )[^\\n]+$`, 'm')
    let found = 0
    for (const file of files) {
      const text = await readFile(path.join(dir, file), 'utf8')
      if (!declaration.test(text)) continue
      found++
      await writeFile(path.join(dir, file), text.replace(declaration, `$1${value}`))
    }
    if (found !== 1)
      throw new Error(`BENCH_CONSTANTS: ${name} is declared in ${found} files of src/`)
  }
}

// A rule's globs as the build names the files: a glob ending in assets/app.css becomes one that
// matches <hash>-app.css anywhere.
function bundledGlobs(list: string): string {
  const globs = list.split(',').map((g) => String(JSON.parse(g.trim())))
  return globs.map((g) => JSON.stringify(`**/*-${path.basename(g)}`)).join(', ')
}

/** The project's wrangler.toml with the push consumer's settings replaced. */
export function benchConfig(toml: string, queue: QueueSettings): string {
  const block = /(\[\[queues\.consumers\]\]\nqueue = "pushgate-push"\n)([^[]*)/
  const match = block.exec(toml)
  if (!match) throw new Error('wrangler.toml has no [[queues.consumers]] block for pushgate-push')
  let settings = match[2] ?? ''
  for (const [key, value] of Object.entries(queue)) {
    if (value === undefined) continue
    const line = new RegExp(`^${key} = .*$`, 'm')
    settings = line.test(settings)
      ? settings.replace(line, `${key} = ${value}`)
      : `${key} = ${value}\n${settings}`
  }
  return toml.replace(block, (_, head: string) => `${head}${settings}`)
}

/** The push consumer's settings in effect in a config text, for the report. */
export function queueSettingsOf(toml: string): Required<QueueSettings> {
  const block = /\[\[queues\.consumers\]\]\nqueue = "pushgate-push"\n([^[]*)/.exec(toml)?.[1] ?? ''
  const read = (key: string, fallback: number) =>
    Number(new RegExp(`^${key} = (\\d+)`, 'm').exec(block)?.[1] ?? fallback)
  // What Queues and miniflare use when a key is absent (0: no limit set).
  return {
    max_batch_size: read('max_batch_size', 10),
    max_batch_timeout: read('max_batch_timeout', 5),
    max_concurrency: read('max_concurrency', 0),
  }
}

async function serve(dir: string, config: string, logFile: string, extra: string[]) {
  const port = await freePort()
  const dev = run(
    [
      'dev',
      '-c',
      config,
      '--local',
      '--ip',
      host,
      '--port',
      String(port),
      '--show-interactive-dev-session=false',
      ...extra,
    ],
    logFile,
  )
  const exited = exitOf(dev)
  const stop = once(async () => {
    signalGroup(dev, 'SIGTERM')
    await Promise.race([exited, sleep(5_000)])
    signalGroup(dev, 'SIGKILL')
    if (process.env.BENCH_KEEP_LOG) await copyFile(logFile, process.env.BENCH_KEEP_LOG)
    await rm(dir, { recursive: true, force: true })
  })
  const url = `http://${host}:${port}`
  const log = () => readFile(logFile, 'utf8').catch(() => '')
  try {
    await waitUntilServing(url, exited, log)
  } catch (error) {
    await stop()
    throw error
  }
  // Monotonic across a workerd that exits (a reload): its last reading is kept.
  const lastSeen = new Map<number, number>()
  let exitedMs = 0
  const workerdCpuMs = async () => {
    const now = await groupProcesses(dev, 'workerd')
    for (const [pid, ms] of lastSeen) {
      if (now.some((p) => p.pid === pid)) continue
      exitedMs += ms
      lastSeen.delete(pid)
    }
    for (const p of now) lastSeen.set(p.pid, p.cpuMs)
    return exitedMs + sum(now.map((p) => p.cpuMs))
  }
  return {
    url,
    log,
    stop,
    workerdCpuMs,
    workerdPids: async () => (await groupProcesses(dev, 'workerd')).map((p) => p.pid),
  }
}

function run(args: string[], logFile: string): ChildProcess {
  const out = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(process.execPath, ['-e', guard, '--', wranglerBin, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      // No internet here: skip the Request.cf download wrangler tries on every start.
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      NO_COLOR: '1',
    },
  })
  // Each line gets the bench's clock (ms), so that batches can be put on a timeline.
  const stamp = (chunk: Buffer) => {
    const at = performance.now().toFixed(0)
    out.write(chunk.toString('utf8').replace(/^(?=.)/gm, `[${at}] `))
  }
  child.stdout?.on('data', stamp)
  child.stderr?.on('data', stamp)
  return child
}

async function runToEnd(args: string[], logFile: string) {
  const code = await exitOf(run(args, logFile))
  if (code !== 0) {
    const log = await readFile(logFile, 'utf8').catch(() => '')
    throw new Error(`wrangler ${args[0]} failed (exit ${code}):\n${log.slice(-4000)}`)
  }
}

async function waitUntilServing(
  url: string,
  exited: Promise<number | null>,
  log: () => Promise<string>,
) {
  let gone = false
  void exited.then(() => {
    gone = true
  })
  const deadline = Date.now() + startTimeoutMs
  while (Date.now() < deadline) {
    if (gone)
      throw new Error(`wrangler dev stopped before it answered:\n${(await log()).slice(-4000)}`)
    try {
      // Any answer will do: the Worker is loaded (Pushgate answers 200, a bare Worker 405).
      const res = await fetch(`${url}/rest/sys/info/ping`, { signal: AbortSignal.timeout(2_000) })
      await res.body?.cancel()
      if (res.status < 500) return
    } catch {
      // not listening yet
    }
    await sleep(200)
  }
  throw new Error(
    `wrangler dev did not answer in ${startTimeoutMs} ms:\n${(await log()).slice(-4000)}`,
  )
}

/** The processes named `name` in the child's group, with their CPU time (utime + stime). */
async function groupProcesses(child: ChildProcess, name: string) {
  const group = child.pid
  const found: { pid: number; cpuMs: number }[] = []
  if (group === undefined) return found
  const msPerTick = 1000 / 100 // USER_HZ is 100 on Linux
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // After the parenthesised command name: state ppid pgrp ... utime (14th) stime (15th).
    const match = /^\d+ \((.*)\) (.*)$/.exec(stat.trim())
    const fields = match?.[2]?.split(' ') ?? []
    if (match?.[1] !== name || Number(fields[2]) !== group) continue
    const ticks = Number(fields[11]) + Number(fields[12])
    found.push({ pid: Number(pid), cpuMs: ticks * msPerTick })
  }
  return found
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(null))
    child.once('exit', (code) => resolve(code))
  })
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // ESRCH: the group is gone already.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => {
    done ??= fn()
    return done
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
