/// <reference types="node" />
/**
 * `npm run bench`: Web Push encryption in workerd against web-push on Node, then the whole send
 * pipeline under `wrangler dev` with the local fakes, and one table with the figures, the goals
 * and the machine. On demand only, never in `npm test`: it takes minutes and needs the machine
 * to itself. bench/README.md says what each number means; the environment variables below
 * change the sizes and the queue consumer's settings.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchEncryption, type EncryptionResult } from './encryption'
import { benchPipeline, type PipelineResult } from './pipeline'
import { type Machine, printReport } from './report'
import { benchRequests, type RequestCost } from './requests'
import { benchConfig, type QueueSettings, queueSettingsOf, startPlainWorker } from './wrangler-dev'

const root = fileURLToPath(new URL('..', import.meta.url))

const settings = {
  only: process.env.BENCH_ONLY as 'encryption' | 'pipeline' | undefined,
  messages: integer('BENCH_MESSAGES', 2000),
  rounds: integer('BENCH_ROUNDS', 7),
  fcmDevices: integer('BENCH_FCM', 10_000),
  webPushDevices: integer('BENCH_WEBPUSH', 2_000),
  latencySends: integer('BENCH_SENDS', 7),
  sendTimeoutMs: integer('BENCH_SEND_TIMEOUT_S', 300) * 1000,
  queue: queueOverrides(process.env.BENCH_QUEUE ?? ''),
  constants: constantOverrides(process.env.BENCH_CONSTANTS ?? ''),
}

const say = (line: string) => console.log(line)
const machine = await machineFacts()

let encryption: EncryptionResult | undefined
let requests: RequestCost[] = []
let pipeline: PipelineResult | undefined
try {
  if (settings.only !== 'pipeline') {
    const worker = await startPlainWorker('bench/encrypt-worker.ts')
    try {
      say('▸ Web Push encryption: workerd (@block65/webcrypto-web-push) vs Node (web-push)')
      encryption = await benchEncryption(worker, settings, say)
      say('▸ one outbound request from workerd to a bare Node server, 6 and 24 at a time')
      const sizes = { requests: settings.messages, rounds: 3 }
      requests = [
        await benchRequests(worker, { ...sizes, inFlight: 6 }),
        await benchRequests(worker, { ...sizes, inFlight: 24 }),
      ]
    } finally {
      await worker.stop()
    }
  }
  if (settings.only !== 'encryption') {
    say(`▸ pipeline: ${settings.fcmDevices} FCM + ${settings.webPushDevices} Web Push devices`)
    pipeline = await benchPipeline(settings, say)
  }
} catch (error) {
  console.error(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  )
  process.exit(1)
}
machine.loadAfter = os.loadavg()
printReport({ machine, encryption, requests, pipeline, say })
process.exit(0)

async function machineFacts(): Promise<Machine> {
  const version = async (pkg: string) =>
    JSON.parse(await readFile(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8'))
      .version as string
  const toml = await readFile(path.join(root, 'wrangler.toml'), 'utf8')
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: os.totalmem() / 2 ** 30,
    node: process.version,
    wrangler: await version('wrangler'),
    workerd: await version('workerd'),
    loadBefore: os.loadavg(),
    loadAfter: [],
    queue: queueSettingsOf(benchConfig(toml, settings.queue)),
    queueOverridden: Object.keys(settings.queue).length > 0,
    constants: settings.constants,
  }
}

function integer(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`)
  return value
}

/** `BENCH_QUEUE="max_batch_size=100,max_batch_timeout=0"`: the push consumer's settings. */
function queueOverrides(text: string): QueueSettings {
  const known = ['max_batch_size', 'max_batch_timeout', 'max_concurrency'] as const
  const result: QueueSettings = {}
  for (const pair of text.split(',').filter(Boolean)) {
    const [key, value] = pair.split('=').map((s) => s.trim())
    const name = known.find((k) => k === key)
    if (!name || !/^\d+$/.test(value ?? '')) {
      throw new Error(`BENCH_QUEUE: "${pair}" is not one of ${known.join(', ')} = a number`)
    }
    result[name] = Number(value)
  }
  return result
}

/** `BENCH_CONSTANTS="PAGE_ROWS=5000"`: what-if values of src/ constants, patched in the bundle. */
function constantOverrides(text: string): Record<string, number> {
  const result: Record<string, number> = {}
  for (const pair of text.split(',').filter(Boolean)) {
    const [key, value] = pair.split('=').map((s) => s.trim())
    if (!key || !/^[A-Z_][A-Z0-9_]*$/.test(key) || !/^\d+$/.test(value ?? '')) {
      throw new Error(`BENCH_CONSTANTS: "${pair}" is not NAME=number`)
    }
    result[key] = Number(value)
  }
  return result
}
