/// <reference types="node" />
/**
 * The h2 bench's table: notifications per second of each row (median and every run), the ratio
 * to Node's client with the goal, CPU per notification of the client and of the sink, then how
 * the figures were taken and the machine they came from.
 */
import type { SinkStats } from './ipc'
import type { Machine } from './processes'
import type { WorkerRow } from './protocol'

export type Row = 'node' | WorkerRow

export const ROW_NAMES: Record<Row, string> = {
  node: 'Node http2.connect() (nghttp2)',
  h2: 'workerd h2: openH2 + request',
  adapter: 'workerd h2: APNs adapter + h2Transport',
}

/** The ratio to Node's notifications per second that each Worker row must reach. */
export const GOAL_RATIO = 1.0

export type Measured = {
  row: Row
  /** Elapsed, timed in the runner around the run. */
  ms: number
  /** The Worker's own Date.now() around the run (Worker rows). */
  innerMs?: number
  /** CPU of the client: the Node client's process, or workerd for the Worker rows. */
  clientCpuMs: number
  sink: SinkStats
}

export function printReport(r: {
  measured: Measured[]
  settings: { count: number; window: number; runs: number }
  machine: Machine & { loadAfter: number[] }
  overheadMs: number
  say: (line?: string) => void
}) {
  const { measured, settings, say } = r
  const of = (row: Row) => measured.filter((m) => m.row === row)
  const perSecond = (m: Measured) => (settings.count * 1000) / m.ms
  const rate = (row: Row) => median(of(row).map(perSecond))
  const perNotification = (ms: number) => (ms * 1000) / settings.count
  const cpuUs = (row: Row) => median(of(row).map((m) => perNotification(m.clientCpuMs)))
  const sinkUs = (row: Row) => median(of(row).map((m) => perNotification(m.sink.cpuMs)))

  const lines = [
    ['row', 'notifications/s', 'runs', 'ratio', 'goal', 'client CPU', 'CPU ratio', 'sink CPU'],
  ]
  for (const row of ['node', 'h2', 'adapter'] as const) {
    const ratio = rate(row) / rate('node')
    const worker = row !== 'node'
    lines.push([
      ROW_NAMES[row],
      count(rate(row)),
      of(row)
        .map((m) => count(perSecond(m)))
        .join(' '),
      worker ? `${ratio.toFixed(2)}x` : '',
      worker ? `≥ ${GOAL_RATIO.toFixed(1)} ${ratio >= GOAL_RATIO ? 'pass' : 'MISS'}` : '',
      `${cpuUs(row).toFixed(1)} µs`,
      worker ? `${(cpuUs('node') / cpuUs(row)).toFixed(2)}x` : '',
      `${sinkUs(row).toFixed(1)} µs`,
    ])
  }
  say()
  table(lines, say)
  say()
  say(
    `${count(settings.count)} notifications per run over one connection, ${settings.window} in ` +
      `flight (also the sink's MAX_CONCURRENT_STREAMS); median of ${settings.runs} runs. ratio: ` +
      "notifications/s over Node's. CPU ratio: Node's client CPU per notification over the row's.",
  )
  say(
    '  Worker rows are timed in Node around one request to the bench Worker, connection setup ' +
      `included; a request that does nothing costs ${r.overheadMs.toFixed(1)} ms (not subtracted).`,
  )
  for (const row of ['h2', 'adapter'] as const) {
    const inner = median(of(row).map((m) => m.innerMs ?? 0))
    say(`  ${row}: Date.now() inside the Worker read ${inner.toFixed(0)} ms (median).`)
  }
  say(
    "  CPU per notification: the Node client's process for the Node row, workerd (from /proc) " +
      'for the Worker rows; the sink is a process of its own.',
  )
  const inFlight = median(measured.map((m) => m.sink.maxInFlight))
  say(`  Most streams the sink saw open at once (median of all runs): ${inFlight}.`)
  const m = r.machine
  say()
  say(
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb.toFixed(0)} GB; Node ${m.node}; ` +
      `workerd ${m.workerd}; wrangler ${m.wrangler}.`,
  )
  say(
    `Load average (1/5/15 min) before ${loads(m.load)}, after ${loads(m.loadAfter)}: ` +
      'the sink, the clients and workerd share these cores with whatever else runs.',
  )
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length % 2) return sorted[mid] ?? 0
  return ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function loads(values: number[]): string {
  return values.map((v) => v.toFixed(2)).join(' / ')
}

function table(lines: string[][], say: (line: string) => void) {
  const widths = (lines[0] ?? []).map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  const format = (line: string[]) =>
    line
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  say(format(lines[0] ?? []))
  say(widths.map((w) => '─'.repeat(w)).join('  '))
  for (const line of lines.slice(1)) say(format(line))
}
