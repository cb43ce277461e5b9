/**
 * What the h2 bench's runner (run.ts, Node) and its Worker (worker.ts, workerd) share: the one
 * notification every client sends, the device tokens it goes to, and the messages the runner and
 * the Worker exchange. Both sides import this; nothing here runs only in Node or only in workerd.
 *
 * The notification is what the APNs adapter would make of a typical message (translate.ts): a
 * body of about 200 bytes and Apple's headers, to which each request adds its own `apns-id` and
 * the provider token as `authorization: bearer <JWT>` (about 200 bytes), as the adapter does.
 */
import { z } from 'zod'
import { apnsHeaders, apnsPayload } from '../../src/networks/apns/translate'
import type { DeliveryOptions, UnifiedMessage } from '../../src/push/message'

export const ROWS = ['h2', 'adapter'] as const
export type WorkerRow = (typeof ROWS)[number]

export const BUNDLE_ID = 'org.pushgate.bench'
export const KEY_ID = 'BENCHKEY01'
export const TEAM_ID = 'BENCHTEAM1'

export const message: UnifiedMessage = {
  alert: 'Your order #48213 has shipped and should arrive on Thursday',
  sound: 'default',
  badge: 3,
  'user-data': { orderId: '48213', kind: 'shipping' },
  apns: { title: 'Order shipped', 'action-category': 'ORDER' },
}

export function delivery(run: number): DeliveryOptions {
  return { ttl: 86_400, pushMessageId: `bench-h2-${String(run).padStart(6, '0')}` }
}

/** Body and headers of the notification as the adapter sends it, minus apns-id and authorization. */
export function notification(run: number, now: number) {
  const body = JSON.stringify(apnsPayload(message, delivery(run)))
  return { body, headers: apnsHeaders(message, delivery(run), BUNDLE_ID, now) }
}

/**
 * The `index`-th device token of a run: 64 hex digits, different for every device and run (so
 * no HPACK table can turn a path into an index), the same in Node and in workerd.
 */
export function deviceToken(run: number, index: number): string {
  let x = (Math.imul(run + 1, 0x9e3779b1) ^ index) >>> 0
  let hex = ''
  for (let word = 0; word < 8; word++) {
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0
    x = (x ^ (x >>> 16) ^ word) >>> 0
    hex += x.toString(16).padStart(8, '0')
  }
  return hex
}

export const BenchRequest = z.object({
  /** The sink's origin, `http://127.0.0.1:<port>`: HTTP/2 with prior knowledge. */
  sink: z.url({ protocol: /^http$/ }),
  row: z.enum(ROWS),
  run: z.number().int().min(0),
  count: z.number().int().positive(),
  /** Requests in flight at once (row `h2`); the adapter follows MAX_CONCURRENT_STREAMS. */
  window: z.number().int().positive(),
  /** A provider token minted by the runner: the adapter never signs one here. */
  bearer: z.string().min(1),
  /** The runner's clock, for `apns-expiration` (row `h2`). */
  now: z.number(),
})
export type BenchRequest = z.infer<typeof BenchRequest>

export const BenchResult = z.object({
  /** Answers with status 200. */
  ok: z.number(),
  /** Everything else, by status or failure kind. */
  other: z.record(z.string(), z.number()),
  /** Date.now() inside the Worker around the run: it moves across I/O under wrangler dev. */
  innerMs: z.number(),
  /** The server's MAX_CONCURRENT_STREAMS as the client saw it at the end. */
  maxConcurrentStreams: z.number(),
})
export type BenchResult = z.infer<typeof BenchResult>
