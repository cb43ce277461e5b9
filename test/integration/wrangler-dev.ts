/// <reference types="node" />
// Runs the real Worker under `wrangler dev` for integration tests, a throwaway instance per call:
// a free port, fresh D1/Queues state in a temp dir, the project's migrations applied to that
// state, and secrets in a temp env file. `--env-file` makes wrangler skip `.dev.vars`, so a
// developer's own secrets are neither read nor touched.
//
// Nothing may outlive the test process, however it ends: a test that throws before stop(), a hook
// that times out, Ctrl-C, or vitest SIGKILLing a worker whose main process died (no exit handler
// runs then). workerd survives a killed wrangler, so each wrangler runs in its own process group
// under a small guard that stops the group when its stdin, a pipe from this process, closes.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface WorkerOptions {
  /** Extra Worker variables, overriding `[vars]` in wrangler.toml. */
  vars?: Record<string, string>
}

export interface RunningWorker {
  url: string
  adminToken: string
  stop(): Promise<void>
}

const root = fileURLToPath(new URL('../..', import.meta.url))
const wranglerBin = path.join(root, 'node_modules/wrangler/bin/wrangler.js')
const host = '127.0.0.1'
const startTimeoutMs = 90_000
// Wrangler prints its bindings table on every start: enough to explain a failure, never a flood.
const logLimit = 64 * 1024

// The group leader: runs wrangler and exits with it. EOF on its stdin means this process is gone:
// then it stops the whole group, SIGTERM first so wrangler can stop workerd, removes the temp dir,
// and SIGKILLs the group (itself included) last. It ignores SIGTERM, which reaches wrangler
// through the group anyway.
const guard = `
const { spawn } = require('node:child_process')
const stdio = ['ignore', 'inherit', 'inherit']
const child = spawn(process.execPath, process.argv.slice(1), { stdio })
let orphaned = false
child.on('exit', (code) => orphaned || process.exit(code ?? 1))
process.on('SIGTERM', () => {})
process.stdin.on('end', () => {
  orphaned = true
  process.kill(0, 'SIGTERM')
  setTimeout(() => {
    require('node:fs').rmSync(process.env.PUSHGATE_TEMP_DIR, { recursive: true, force: true })
    process.kill(0, 'SIGKILL')
  }, 3000)
})
process.stdin.resume()
`

export async function startWorker(opts: WorkerOptions = {}): Promise<RunningWorker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pushgate-it-'))
  const adminToken = randomBytes(32).toString('base64url')
  const envFile = path.join(dir, 'secrets.env')
  await writeFile(envFile, secretsFile(adminToken), { mode: 0o600 })

  const persist = path.join(dir, 'state')
  try {
    await applyMigrations(persist)
    const port = await freePort()
    const worker = spawnDev(port, persist, envFile, opts.vars ?? {})
    const url = `http://${host}:${port}`
    const stop = once(async () => {
      await killGroup(worker)
      await rm(dir, { recursive: true, force: true })
    })
    try {
      await waitForPing(url, worker)
    } catch (error) {
      await stop()
      throw error
    }
    return { url, adminToken, stop }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

function secretsFile(adminToken: string): string {
  // Both are base64 alphabets: nothing dotenv would quote or expand.
  const credentialsKey = randomBytes(32).toString('base64')
  return `ADMIN_TOKEN=${adminToken}\nCREDENTIALS_KEY=${credentialsKey}\n`
}

interface DevProcess {
  child: ChildProcess
  log: () => string
  exited: Promise<string>
}

async function applyMigrations(persist: string): Promise<void> {
  const args = ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist]
  const child = spawnWrangler(path.dirname(persist), args)
  const output = capture(child)
  const result = await exitOf(child)
  if (result !== 'exit code 0') {
    throw new Error(`wrangler d1 migrations apply failed (${result}):\n${output()}`)
  }
}

function spawnDev(
  port: number,
  persist: string,
  envFile: string,
  vars: Record<string, string>,
): DevProcess {
  // `--var` splits at the first colon only, so URLs survive as values.
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ['--var', `${key}:${value}`])
  const child = spawnWrangler(path.dirname(persist), [
    'dev',
    '--local',
    '--ip',
    host,
    '--port',
    String(port),
    '--persist-to',
    persist,
    '--env-file',
    envFile,
    '--test-scheduled',
    '--show-interactive-dev-session=false',
    ...varArgs,
  ])
  return { child, log: capture(child), exited: exitOf(child) }
}

/** `tempDir` is what the guard removes if this process dies without stopping wrangler. */
function spawnWrangler(tempDir: string, args: string[]): ChildProcess {
  // The test runner already runs on Node 22 (npm puts the `node` devDependency first on PATH);
  // wrangler's bin runs on the same binary, with no npx or shell in between. wrangler itself gets
  // no stdin (the guard keeps it), so it never prompts: the migrations' confirmation takes yes.
  return spawn(process.execPath, ['-e', guard, '--', wranglerBin, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      NO_COLOR: '1',
      PUSHGATE_TEMP_DIR: tempDir,
    },
  })
}

async function waitForPing(url: string, worker: DevProcess): Promise<void> {
  const deadline = Date.now() + startTimeoutMs
  let exit: string | undefined
  void worker.exited.then((result) => {
    exit = result
  })
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      throw new Error(`wrangler dev stopped before it answered (${exit}):\n${worker.log()}`)
    }
    if (await answersPing(url)) return
    await sleep(200)
  }
  throw new Error(`wrangler dev did not answer ${url} in ${startTimeoutMs} ms:\n${worker.log()}`)
}

async function answersPing(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/rest/sys/info/ping`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

/** Keeps the tail of stdout and stderr, interleaved, for error messages. */
function capture(child: ChildProcess): () => string {
  let text = ''
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-logLimit)
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  return () => text
}

function exitOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve(`spawn error: ${error.message}`))
    child.once('exit', (code, signal) => {
      resolve(signal ? `signal ${signal}` : `exit code ${code}`)
    })
  })
}

/**
 * Stops wrangler and workerd together: SIGTERM lets wrangler clean up, SIGKILL follows if the
 * group is still there after a grace period.
 */
async function killGroup({ child, exited }: DevProcess): Promise<void> {
  const pid = child.pid
  if (pid === undefined) return
  signalGroup(pid, 'SIGTERM')
  await Promise.race([exited, sleep(5_000)])
  // workerd may outlive the wrangler leader for a moment: the group, not the leader, decides.
  for (let i = 0; i < 25 && groupAlive(pid); i++) await sleep(200)
  if (groupAlive(pid)) signalGroup(pid, 'SIGKILL')
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
