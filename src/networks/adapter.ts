/**
 * The contract every push network implements. An adapter takes one batch of devices of one
 * variant and one message, and answers one outcome per device, in order. Translation and answer
 * classification are pure functions inside each network's folder; the adapter is the thin I/O
 * around them. The deliver consumer turns outcomes into counts, prunes and retries.
 */
import type { DeliveryOptions, UnifiedMessage } from '../push/message'

export type Target = {
  installationId: string
  /** The stored deviceToken: hex for APNs, a registration token for FCM, subscription JSON for Web Push. */
  token: string
  /** Last registration (ms): APNs only prunes a device unregistered after this. */
  registeredAt: number
}

export type Outcome =
  | { kind: 'delivered' }
  /**
   * The network says the device is gone: prune the installation, but when `since` (ms) is given
   * only if the device last registered before it (APNs' 410 timestamp). `unproven`: the same
   * answer also comes back for every device of a misconfigured variant (a wrong Firebase project,
   * APNs environment or bundle id), so it prunes only when the same batch delivered to at least
   * one device; otherwise the device is kept and the variant reported.
   */
  | { kind: 'invalid_token'; reason: string; since?: number; unproven?: true }
  /** Transient: try again no sooner than `retryAfterMs` (the network's Retry-After, if any). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** Final for this message; the device is kept. */
  | { kind: 'failed'; reason: string }

/** A problem of the variant's credentials or configuration: the whole batch fails, nothing is pruned. */
export type VariantProblem = { reason: string }

export type BatchResult = { outcomes: Outcome[]; variantProblem?: VariantProblem }

/** Services an adapter may use: the shared token cache, the clock, fetch. */
export type AdapterContext = {
  now: () => number
  fetch: typeof fetch
  /**
   * Reads or mints a token shared by every isolate (APNs provider JWT, FCM access token), used
   * until five minutes before the `expiresAt` that `mint` gave, or until it is older than
   * `renewIfOlderThanMs`. `rejected` is the token the network refused: it is never returned
   * again. A different fresh token (renewed meanwhile by another batch or isolate) is adopted;
   * only when the current token is the rejected one is a new one minted, and of two isolates
   * renewing at once the first to store its token wins and the other adopts it.
   */
  sharedToken: (
    key: string,
    mint: () => Promise<{ token: string; expiresAt: number }>,
    opts: { renewIfOlderThanMs?: number; rejected?: string },
  ) => Promise<string>
}

export interface NetworkAdapter {
  send(
    targets: Target[],
    message: UnifiedMessage,
    options: DeliveryOptions,
    ctx: AdapterContext,
  ): Promise<BatchResult>
}
