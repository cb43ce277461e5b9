// `npm start`: runs Pushgate on this machine with D1, Queues and cron all simulated by wrangler.
// First run writes the local secrets to .dev.vars; later runs reuse them, because a new
// CREDENTIALS_KEY would make every credential already stored in the local D1 unreadable.
// Run it through npm: the `node` devDependency puts Node 22 first on PATH, which wrangler needs.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const devVarsPath = path.join(root, '.dev.vars')
const localState = path.join(root, '.wrangler', 'state')
const wranglerBin = path.join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
const host = '127.0.0.1'
const readyTimeoutMs = 120_000
// wrangler stops workerd on SIGINT/SIGTERM; this is how long it gets before a forced kill.
const stopGraceMs = 10_000

let current
let stopping = false

await main()

async function main() {
  requireNode22()
  const port = parsePort(process.env.PORT ?? '8787')
  forwardSignals()

  const adminToken = ensureDevVars().ADMIN_TOKEN
  await requireFreePort(port)
  await runToCompletion(['d1', 'migrations', 'apply', 'DB', '--local'])
  if (stopping) process.exit(0)

  const origin = `http://${host}:${port}`
  const dev = start(devArgs(port))
  dev.on('exit', (code, signal) => finish(exitCode(code, signal)))

  await waitUntilReady(origin)
  printBanner(origin, adminToken)
}

function requireNode22() {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return
  fail(`wrangler needs Node 22, this is ${process.version}. Run \`npm start\` instead.`)
}

function parsePort(text) {
  const port = Number(text)
  if (Number.isInteger(port) && port > 0 && port < 65536) return port
  fail(`PORT must be a TCP port number, got "${text}".`)
}

function devArgs(port) {
  // --test-scheduled adds /__scheduled; /cdn-cgi/local/scheduled works either way.
  return ['dev', '--local', '--ip', host, '--port', String(port), '--test-scheduled']
}

/** Reads .dev.vars, appending only the secrets it lacks; existing lines are never rewritten. */
function ensureDevVars() {
  const existing = existsSync(devVarsPath) ? parseDotenv(readFileSync(devVarsPath, 'utf8')) : {}
  const added = {}
  if (!existing.ADMIN_TOKEN) added.ADMIN_TOKEN = randomBytes(32).toString('base64url')
  if (!existing.CREDENTIALS_KEY) {
    warnIfStateExists()
    added.CREDENTIALS_KEY = randomBytes(32).toString('base64')
  }
  if (Object.keys(added).length > 0) writeSecrets(added)
  return { ...existing, ...added }
}

function warnIfStateExists() {
  if (!existsSync(localState)) return
  console.warn(
    `pushgate: .dev.vars has no CREDENTIALS_KEY; a new one is written, so credentials already ` +
      `stored in ${path.relative(root, localState)} cannot be decrypted. Delete that folder ` +
      'to start clean.',
  )
}

function writeSecrets(added) {
  const lines = Object.entries(added).map(([key, value]) => `${key}=${value}\n`)
  if (!existsSync(devVarsPath)) {
    const header = [
      '# Local secrets for `wrangler dev`, written by `npm start`. Keep CREDENTIALS_KEY:\n',
      '# it decrypts the credentials stored in .wrangler/state.\n',
    ]
    writeFileSync(devVarsPath, header.join('') + lines.join(''), { mode: 0o600 })
  } else {
    const text = readFileSync(devVarsPath, 'utf8')
    const separator = text === '' || text.endsWith('\n') ? '' : '\n'
    appendFileSync(devVarsPath, separator + lines.join(''))
  }
  console.log(`pushgate: wrote ${Object.keys(added).join(' and ')} to .dev.vars`)
}

/** Just enough of the dotenv format for a file this script wrote or a person edited. */
function parseDotenv(text) {
  const vars = {}
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (!match) continue
    vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2')
  }
  return vars
}

/** wrangler would fail later with a less obvious message, after the migrations. */
function requireFreePort(port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => fail(`port ${port} is in use; choose another with PORT=<port>.`))
    server.listen(port, host, () => server.close(resolve))
  })
}

/**
 * wrangler gets its own process group: workerd outlives a killed wrangler, so a forced stop must
 * reach the whole group. A background group cannot read the terminal, hence no stdin, which also
 * keeps wrangler from prompting (the migrations' confirmation takes its default, yes).
 */
function start(args) {
  current = spawn(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  })
  current.once('error', (error) => fail(`could not start wrangler: ${error.message}`))
  return current
}

function runToCompletion(args) {
  return new Promise((resolve) => {
    start(args).once('exit', (code, signal) => {
      if (code === 0 || stopping) return resolve()
      fail(`wrangler ${args.slice(0, 3).join(' ')} failed (${signal ?? `exit code ${code}`}).`)
    })
  })
}

async function waitUntilReady(origin) {
  const deadline = Date.now() + readyTimeoutMs
  while (Date.now() < deadline) {
    if (await answersPing(origin)) return
    await sleep(250)
  }
  fail(`${origin}/rest/sys/info/ping did not answer in ${readyTimeoutMs} ms.`)
}

async function answersPing(origin) {
  try {
    const res = await fetch(`${origin}/rest/sys/info/ping`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

function printBanner(origin, adminToken) {
  const rule = '─'.repeat(72)
  const lines = [
    '',
    rule,
    `  Pushgate is running at ${origin}`,
    `  Admin token (Bearer, from .dev.vars): ${adminToken}`,
    `  Admin UI: ${origin}/ui/ (sign in with the token above)`,
    '',
    `  curl -H 'Authorization: Bearer ${adminToken}' ${origin}/rest/applications`,
    '',
    `  Run the daily cron now: curl '${origin}/cdn-cgi/local/scheduled'`,
    '  Stop with Ctrl-C.',
    rule,
    '',
  ]
  console.log(lines.join('\n'))
}

/**
 * Ctrl-C, a supervisor's SIGTERM or a closed terminal reach this process only: wrangler's group is
 * told to stop, and a second signal, or a stop that takes too long, kills the group outright.
 */
function forwardSignals() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop)
  stopWhenOrphaned()
}

/** npm runs this under `sh -c`; a SIGTERM sent to npm kills sh, which does not pass it on. */
function stopWhenOrphaned() {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    stop()
  }, 1_000)
  timer.unref()
}

function stop() {
  if (!current || current.exitCode !== null || current.signalCode !== null) process.exit(130)
  if (stopping) return signalGroup('SIGKILL')
  stopping = true
  // Only wrangler's bin: it passes SIGTERM to its CLI, which stops workerd in order.
  current.kill('SIGTERM')
  setTimeout(() => signalGroup('SIGKILL'), stopGraceMs).unref()
}

/** Exits once wrangler's group is gone: workerd may take a moment longer than wrangler. */
async function finish(code) {
  for (let i = 0; i < 50 && groupAlive(); i++) await sleep(100)
  signalGroup('SIGKILL')
  process.exit(code)
}

function signalGroup(signal) {
  try {
    process.kill(-current.pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive() {
  try {
    process.kill(-current.pid, 0)
    return true
  } catch {
    return false
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A stop that was asked for is a success, so npm does not report a failed script. */
function exitCode(code, signal) {
  if (stopping) return 0
  if (code !== null) return code
  return signal ? 1 : 0
}

function fail(message) {
  console.error(`pushgate: ${message}`)
  if (current) signalGroup('SIGTERM')
  process.exit(1)
}
