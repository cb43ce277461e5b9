/**
 * What the probe CLI (scripts/probe-apns.ts) and the probe Worker (worker.ts) say to each other:
 * one request to send one notification, one result saying what Apple answered. Both sides parse
 * with these schemas; nothing here runs only in Node or only in workerd.
 */
import { z } from 'zod'

export const TRANSPORTS = ['h2', 'fetch'] as const
export type ProbeTransport = (typeof TRANSPORTS)[number]

export const ProbeRequest = z.object({
  /** Apple's origin (https://api.sandbox.push.apple.com) or a fake's (http://127.0.0.1:port). */
  endpoint: z.url({ protocol: /^https?$/ }),
  transport: z.enum(TRANSPORTS),
  /** As a device reports it: hex, with or without spaces and angle brackets. */
  deviceToken: z.string(),
  bundleId: z.string().min(1),
  keyId: z.string(),
  teamId: z.string(),
  /** The .p8 file's text, as uploaded to the ios_token variant. */
  privateKey: z.string(),
})
export type ProbeRequest = z.infer<typeof ProbeRequest>

/** One answer from Apple, or why there was none. */
const Attempt = z.union([
  z.object({
    kind: z.literal('response'),
    status: z.number(),
    apnsId: z.string().optional(),
    /** Apple's `reason`, verbatim; absent on 200. */
    reason: z.string().optional(),
  }),
  z.object({
    kind: z.literal('transport'),
    reason: z.string(),
    /** The HTTP/2 client's own account of the failure (h2 only): why the connection ended. */
    detail: z.string().optional(),
  }),
])

export const ProbeResult = z.union([
  z.object({
    sent: z.literal(false),
    /** A refusal before anything was sent: a bad key, token or id, with a sentence per field. */
    problems: z.record(z.string(), z.string()),
  }),
  z.object({
    sent: z.literal(true),
    transport: z.enum(TRANSPORTS),
    endpoint: z.string(),
    /** Every request the adapter made: one, or two after 403 ExpiredProviderToken. */
    attempts: z.array(Attempt),
    /** What Pushgate's adapter makes of the answer: delivered, invalid_token, retry or failed. */
    outcome: z.object({ kind: z.string(), reason: z.string().optional() }),
    /** h2 only: connections opened, and the server's MAX_CONCURRENT_STREAMS at the end. */
    h2: z.object({ connections: z.number(), maxConcurrentStreams: z.number() }).optional(),
    ms: z.number(),
  }),
])
export type ProbeResult = z.infer<typeof ProbeResult>
