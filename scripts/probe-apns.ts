/// <reference types="node" />
// `npm run probe:apns -- [options] <device token>`: sends ONE notification to Apple (the sandbox
// unless told otherwise) through Pushgate's own APNs adapter and the chosen transport, and prints
// what Apple answered: status, apns-id, reason. Exit code 0 on 200, 1 on any other answer or
// none, 2 on a usage error.
//
// The code runs inside workerd, never in Node: the `h2` transport needs `cloudflare:sockets`,
// which Node does not have, and a probe that ran something else would prove nothing. So this
// script starts the probe Worker (scripts/probe-apns/worker.ts) locally with wrangler and hands it
// the key over localhost, or, with `--worker <url>`, asks one deployed to Cloudflare: that is the
// run that shows whether Apple takes `h2` from a deployed Worker (README, "Proving the h2
// transport"). The key is the .p8 file uploaded to the ios_token variant: Pushgate never gives a
// stored key back, so the probe cannot read a variant's.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { unstable_dev } from 'wrangler'
import { type ProbeRequest, ProbeResult, TRANSPORTS } from './probe-apns/protocol'

const SANDBOX = 'https://api.sandbox.push.apple.com'
const WORKER_CONFIG = path.join(import.meta.dirname, 'probe-apns', 'wrangler.toml')

const USAGE = `Usage: npm run probe:apns -- [options] <device token>

Sends one notification through Pushgate's APNs adapter, run in workerd, and prints Apple's answer.

  --key-file <file.p8>   the .p8 key uploaded to the ios_token variant      (required)
  --key-id <id>          its Key ID, 10 characters                          (required)
  --team-id <id>         the Apple Team ID, 10 characters                   (required)
  --bundle-id <id>       the app's bundle id: the apns-topic                (required)
  --transport h2|fetch   default h2
  --endpoint <origin>    default ${SANDBOX};
                         https://api.push.apple.com for a production build's token,
                         http://127.0.0.1:<port> for a local fake (HTTP/2 prior knowledge)
  --worker <url>         send from this deployed probe Worker instead of a local one;
                         its secret is read from the PROBE_TOKEN environment variable

The device token is the one the app registered (a development build's, for the sandbox).`

type Options = { request: ProbeRequest; worker?: { url: string; token: string } }

async function main(): Promise<number> {
  const options = await parseOptions(process.argv.slice(2))
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  if (typeof options === 'string') {
    console.error(`${options}\n\n${USAGE}`)
    return 2
  }
  const { request, worker } = options
  const where = worker ? `the probe Worker at ${worker.url}` : 'workerd on this machine'
  console.log(`Probing APNs: ${request.transport} to ${request.endpoint}, from ${where}`)

  const answer = worker ? await askDeployed(worker, request) : await askLocal(request)
  if (answer.status === 401) {
    console.error('The probe Worker refused the request: PROBE_TOKEN is not its secret.')
    return 1
  }
  const result = ProbeResult.safeParse(answer.body)
  if (!result.success) {
    console.error(`The probe Worker answered ${answer.status} with something else:`, answer.body)
    return 1
  }
  return report(result.data)
}

async function parseOptions(argv: string[]): Promise<Options | string> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  if (positionals.length !== 1) return 'Give exactly one device token.'
  const missing = (['key-file', 'key-id', 'team-id', 'bundle-id'] as const).filter(
    (name) => values[name] === undefined,
  )
  if (missing.length > 0) return `Missing: ${missing.map((name) => `--${name}`).join(', ')}.`
  const transport = TRANSPORTS.find((t) => t === values.transport)
  if (!transport) return `--transport must be one of ${TRANSPORTS.join(', ')}.`
  const probeToken = process.env.PROBE_TOKEN
  if (values.worker !== undefined && !probeToken) {
    return 'Set PROBE_TOKEN to the secret the probe Worker was given.'
  }

  let privateKey: string
  try {
    privateKey = await readFile(values['key-file'] ?? '', 'utf8')
  } catch {
    return `Cannot read the key file ${values['key-file']}.`
  }
  return {
    request: {
      endpoint: values.endpoint.replace(/\/+$/, ''),
      transport,
      deviceToken: positionals[0] ?? '',
      bundleId: values['bundle-id'] ?? '',
      keyId: values['key-id'] ?? '',
      teamId: values['team-id'] ?? '',
      privateKey,
    },
    ...(values.worker !== undefined && { worker: { url: values.worker, token: probeToken ?? '' } }),
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'key-file': { type: 'string' },
      'key-id': { type: 'string' },
      'team-id': { type: 'string' },
      'bundle-id': { type: 'string' },
      transport: { type: 'string', default: 'h2' },
      endpoint: { type: 'string', default: SANDBOX },
      worker: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

type Answer = { status: number; body: unknown }

/** Starts the probe Worker in workerd on 127.0.0.1 with a one-time PROBE_TOKEN, asks, stops it. */
async function askLocal(request: ProbeRequest): Promise<Answer> {
  const token = randomBytes(32).toString('base64url')
  const worker = await unstable_dev(path.join(path.dirname(WORKER_CONFIG), 'worker.ts'), {
    config: WORKER_CONFIG,
    vars: { PROBE_TOKEN: token },
    ip: '127.0.0.1',
    persist: false,
    logLevel: 'error',
    experimental: { disableExperimentalWarning: true, disableDevRegistry: true, watch: false },
  })
  // workerd would outlive an interrupted probe: stop it first.
  const stop = () => void worker.stop().finally(() => process.exit(130))
  process.once('SIGINT', stop).once('SIGTERM', stop)
  try {
    const response = await worker.fetch('/', post(token, request))
    return { status: response.status, body: await response.json().catch(() => undefined) }
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop)
    await worker.stop()
  }
}

/** Asks a probe Worker deployed to Cloudflare, with the PROBE_TOKEN it was given. */
async function askDeployed(
  worker: { url: string; token: string },
  request: ProbeRequest,
): Promise<Answer> {
  const response = await fetch(worker.url, post(worker.token, request))
  return { status: response.status, body: await response.json().catch(() => undefined) }
}

function post(token: string, request: ProbeRequest) {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  }
}

function report(result: ProbeResult): number {
  if (!result.sent) {
    console.log('Not sent:')
    for (const [field, problem] of Object.entries(result.problems)) {
      console.log(`  ${field}: ${problem}`)
    }
    return 1
  }
  const last = result.attempts.at(-1)
  for (const [i, attempt] of result.attempts.entries()) {
    const label = result.attempts.length > 1 ? `attempt ${i + 1}: ` : ''
    if (attempt.kind === 'response') {
      console.log(`${label}status   ${attempt.status}`)
      console.log(`${label}apns-id  ${attempt.apnsId ?? '(none)'}`)
      console.log(`${label}reason   ${attempt.reason ?? '(none)'}`)
    } else {
      console.log(`${label}no answer: ${attempt.reason}`)
      if (attempt.detail) console.log(`${label}detail   ${attempt.detail}`)
    }
  }
  const { kind, reason } = result.outcome
  console.log(`outcome  ${kind}${reason ? ` (${reason})` : ''}`)
  if (last?.kind === 'response' && last.status !== 200) {
    console.log(
      `note     an answer, whatever its status, shows that ${result.transport} carried it`,
    )
  }
  if (result.h2) {
    const { connections, maxConcurrentStreams: streams } = result.h2
    console.log(
      `h2       ${connections} connection(s), server MAX_CONCURRENT_STREAMS now ${streams}`,
    )
  }
  console.log(`time     ${result.ms} ms`)
  return last?.kind === 'response' && last.status === 200 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
