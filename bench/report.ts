/// <reference types="node" />
/**
 * The bench's one table: each figure beside its goal and whether it met it, then the evidence
 * that explains the figures (where workerd's encryption time goes, how busy the queue consumer
 * was, CPU per message) and the machine the numbers came from.
 */
import type { EncryptionResult } from './encryption'
import { median } from './encryption'
import type { PipelineResult, Throughput } from './pipeline'
import type { RequestCost } from './requests'
import type { QueueSettings } from './wrangler-dev'

export type Machine = {
  cores: number
  cpu: string
  memoryGb: number
  node: string
  wrangler: string
  workerd: string
  loadBefore: number[]
  loadAfter: number[]
  queue: Required<QueueSettings>
  queueOverridden: boolean
  constants: Record<string, number>
}

/** What the project asks of each figure (the brief of the bench). */
export const GOALS = {
  /** workerd's µs per message over web-push's on Node. */
  encryptionRatio: 1.0,
  fcmPerSecond: 5_000,
  webPushPerSecond: 2_000,
  /** Sender answer time, whole audience over one device. */
  answerRatio: 1.2,
}

type Row = { measure: string; value: string; goal: string; result: string }

export function printReport(r: {
  machine: Machine
  encryption: EncryptionResult | undefined
  requests: RequestCost[]
  pipeline: PipelineResult | undefined
  say: (line: string) => void
}) {
  const rows: Row[] = []
  const e = r.encryption
  if (e) {
    const ratio = e.workerd.us / e.node.us
    rows.push(
      info('Web Push encryption in workerd (@block65, pad: false)', `${us(e.workerd.us)}/msg`),
      info('Web Push encryption on Node (web-push encrypt)', `${us(e.node.us)}/msg`),
      check(
        '  ratio workerd / Node',
        `${ratio.toFixed(2)}x`,
        `≤ ${GOALS.encryptionRatio.toFixed(1)}x`,
        ratio <= GOALS.encryptionRatio,
      ),
    )
  }
  const p = r.pipeline
  if (p) {
    const whole = median(p.answer.wholeMs)
    const one = median(p.answer.oneMs)
    const ratio = whole / one
    const devices = (p.fcm.devices + p.webPush.devices).toLocaleString('en-US')
    rows.push(
      rate('FCM delivered per second', p.fcm, GOALS.fcmPerSecond),
      rate('Web Push delivered per second', p.webPush, GOALS.webPushPerSecond),
      info('  both variants in one send (median send)', `${Math.round(p.mixed.perSecond)}/s`),
      info(
        `POST /rest/sender answer, ${devices} devices (median of ${p.answer.wholeMs.length})`,
        ms(whole),
      ),
      info('  fastest–slowest', spread(p.answer.wholeMs)),
      info(`POST /rest/sender answer, 1 device (median of ${p.answer.oneMs.length})`, ms(one)),
      info('  fastest–slowest', spread(p.answer.oneMs)),
      check(
        '  ratio whole / one',
        `${ratio.toFixed(2)}x`,
        `≤ ${GOALS.answerRatio.toFixed(1)}x`,
        ratio <= GOALS.answerRatio,
      ),
    )
  }

  const say = r.say
  say('')
  table(rows, say)
  if (e) {
    say('')
    say(
      `Encryption: ${e.messages} subscriptions × ${e.rounds} rounds, ${e.payloadBytes}-byte plaintext, aes128gcm.`,
    )
    say(
      `  CPU per message: workerd ${us(e.workerd.cpuUs)}, web-push on Node ${us(e.node.cpuUs)}; ` +
        `@block65 on Node's WebCrypto ${us(e.nodeBlock65.us)} (reference). ` +
        `Inside the Worker performance.now() read ${us(e.workerdInnerUs)}/msg.`,
    )
    const steps = Object.entries(e.steps)
      .map(([op, value]) => `${op} ${us(value)}`)
      .join(', ')
    say(`  Steps inside workerd, each alone (µs/msg, net of parsing): ${steps}.`)
    say(
      `  The same P-256 work on Node (node:crypto, as web-push does it): generate ` +
        `${us(e.nodeSteps.generate)}, ecdh ${us(e.nodeSteps.ecdh)}.`,
    )
  }
  for (const q of r.requests) {
    say(
      `  One request from workerd to a bare Node server, ${q.inFlight} at a time: ${us(q.us)} ` +
        `elapsed, CPU ${us(q.workerdCpuUs)} in workerd and ${us(q.serverCpuUs)} in the server; ` +
        `workerd opened up to ${q.connections} connections.`,
    )
  }
  if (p) {
    say('')
    say(
      `Registration: ${p.registration.devices} devices in ${(p.registration.ms / 1000).toFixed(1)} s ` +
        `(subscriptions ${(p.registration.subscribeMs / 1000).toFixed(1)} s, importer 1,000 rows a request).`,
    )
    for (const t of [p.fcm, p.webPush, p.mixed]) say(evidence(t, r.machine.cores, p.idleCpuMsPerS))
    say(
      `  (workerd uses ${p.idleCpuMsPerS.toFixed(0)} ms of CPU per second when it only answers ` +
        'the metrics polls; "net" leaves that out of the CPU per delivery.)',
    )
  }
  const m = r.machine
  say('')
  say(
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb.toFixed(0)} GB; Node ${m.node}; ` +
      `wrangler ${m.wrangler}; workerd ${m.workerd}.`,
  )
  say(
    `Load average (1/5/15 min) before ${loads(m.loadBefore)}, after ${loads(m.loadAfter)}: ` +
      'other work on the machine skews every figure.',
  )
  const load = Math.max(m.loadBefore[0] ?? 0, m.loadAfter[0] ?? 0)
  if (load > m.cores) {
    say(
      `WARNING: the load average reached ${load.toFixed(1)} on ${m.cores} cores: other work ` +
        'took much of the CPU during this run; rerun on a quiet machine before trusting it.',
    )
  }
  const q = m.queue
  say(
    `Queue consumer (pushgate-push): max_batch_size ${q.max_batch_size}, max_batch_timeout ` +
      `${q.max_batch_timeout} s, max_concurrency ${q.max_concurrency || 'unset'}` +
      (m.queueOverridden ? ' (BENCH_QUEUE override, wrangler.toml untouched)' : ' (wrangler.toml)'),
  )
  const patched = Object.entries(m.constants)
  if (patched.length > 0) {
    const list = patched.map(([name, value]) => `${name} = ${value}`).join(', ')
    say(`What-if constants set in the bench's copy of src/ (src/ untouched): ${list}.`)
  }
}

function evidence(t: Throughput, cores: number, idleCpuMsPerS: number): string {
  const per = (value: number) => us((value * 1000) / Math.max(1, t.delivered))
  const net = t.cpu.workerdMs - (idleCpuMsPerS * t.ms) / 1000
  const size = t.queue.messages / Math.max(1, t.queue.batches)
  return (
    `  ${t.network}: ${t.delivered}/${t.devices} delivered, ${t.failed} not, in ` +
    `${(t.ms / 1000).toFixed(2)} s; ${t.queue.batches} consumer batches of ${size.toFixed(1)} ` +
    `messages, busy ${Math.round(t.queue.busyShare * 100)}% of the wall time; CPU per delivery: ` +
    `workerd ${per(t.cpu.workerdMs)} (net ${per(net)}), fakes ${per(t.cpu.nodeMs)}; up to ${t.connections} ` +
    `connections open to the fake; cores busy: ours ${((t.cpu.workerdMs + t.cpu.nodeMs) / t.ms).toFixed(2)}, ` +
    `whole machine ${(t.cpu.machineMs / t.ms).toFixed(2)} of ${cores}`
  )
}

function rate(measure: string, t: Throughput, goal: number): Row {
  return check(
    measure,
    `${Math.round(t.perSecond).toLocaleString('en-US')}/s`,
    `≥ ${goal.toLocaleString('en-US')}/s`,
    t.perSecond >= goal && t.delivered === t.devices,
  )
}

function check(measure: string, value: string, goal: string, pass: boolean): Row {
  return { measure, value, goal, result: pass ? 'pass' : 'MISS' }
}

function info(measure: string, value: string): Row {
  return { measure, value, goal: '', result: '' }
}

function table(rows: Row[], say: (line: string) => void) {
  const header: Row = { measure: 'measure', value: 'measured', goal: 'goal', result: 'result' }
  const all = [header, ...rows]
  const width = (key: keyof Row) => Math.max(...all.map((row) => row[key].length))
  const widths = {
    measure: width('measure'),
    value: width('value'),
    goal: width('goal'),
    result: width('result'),
  }
  const format = (row: Row) =>
    `${row.measure.padEnd(widths.measure)}  ${row.value.padStart(widths.value)}  ` +
    `${row.goal.padEnd(widths.goal)}  ${row.result}`.trimEnd()
  say(format(header))
  say(
    `${'─'.repeat(widths.measure)}  ${'─'.repeat(widths.value)}  ${'─'.repeat(widths.goal)}  ${'─'.repeat(widths.result)}`,
  )
  for (const row of rows) say(format(row))
}

function us(value: number): string {
  return `${Math.round(value)} µs`
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`
}

function spread(values: number[]): string {
  return `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ms`
}

function loads(values: number[]): string {
  return values.map((v) => v.toFixed(2)).join(' / ')
}
