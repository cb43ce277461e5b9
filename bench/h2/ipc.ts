/**
 * What run.ts and its two child processes (sink.ts, node-client.ts) say to each other over IPC.
 * Schemas rather than types, so that the runner checks what it is told; they live apart from the
 * children because importing a child's module would start it.
 */
import { z } from 'zod'

/** The sink's first message. */
export const SinkListening = z.object({ port: z.number().int().positive() })
export type SinkListening = z.infer<typeof SinkListening>

/** What the runner tells the sink: forget what you saw, or say what you saw. */
export const SinkCommand = z.object({ type: z.enum(['reset', 'stats']) })

/** The sink's answer to `{ type: 'stats' }`: what it saw since the last `{ type: 'reset' }`. */
export const SinkStats = z.object({
  /** Requests answered 200. */
  ok: z.number(),
  /** Requests answered 400, by what was wrong. */
  bad: z.record(z.string(), z.number()),
  /** HTTP/2 sessions (connections) opened. */
  sessions: z.number(),
  /** Most streams open at once. */
  maxInFlight: z.number(),
  /** CPU time of the sink process (user + system). */
  cpuMs: z.number(),
})
export type SinkStats = z.infer<typeof SinkStats>

/** The Node client's first message. */
export const ClientReady = z.object({ ready: z.literal(true) })

/** One run of the Node client. */
export const NodeRunRequest = z.object({
  sink: z.string(),
  run: z.number(),
  count: z.number(),
  window: z.number(),
  bearer: z.string(),
})
export type NodeRunRequest = z.infer<typeof NodeRunRequest>

export const NodeRun = z.object({
  ok: z.number(),
  other: z.record(z.string(), z.number()),
  ms: z.number(),
  /** CPU time of the client's process during the run. */
  cpuMs: z.number(),
})
export type NodeRun = z.infer<typeof NodeRun>

export const ClientAnswer = z.union([
  z.object({ result: NodeRun }),
  z.object({ error: z.string() }),
])
