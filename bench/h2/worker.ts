/**
 * The workerd side of the h2 bench (bench/h2/run.ts starts it under wrangler): `POST /` with a
 * BenchRequest sends `count` notifications to the sink over ONE HTTP/2 connection made with
 * Pushgate's own client, and answers a BenchResult once the last answer is in. The runner times
 * that one request from outside: workerd's clocks do not move while JavaScript runs.
 *
 * Row `h2`: `openH2(sink)` and `H2Connection.request` directly, `window` requests in flight.
 * Row `adapter`: the same notifications through `createApnsAdapter` and `h2Transport`, as the
 * deliver consumer sends them (payload translation, apns-id, classification of every answer), with
 * a provider token the runner minted, handed out by an in-memory `sharedToken`. The adapter keeps
 * as many in flight as the sink's MAX_CONCURRENT_STREAMS, which the runner sets to `window`.
 */
import type { AdapterContext, Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { type H2Connection, openH2 } from '../../src/networks/apns/h2/connection'
import { H2Error } from '../../src/networks/apns/h2/errors'
import { H2Pool, h2Transport } from '../../src/networks/apns/h2-transport'
import {
  BenchRequest,
  type BenchResult,
  BUNDLE_ID,
  delivery,
  deviceToken,
  KEY_ID,
  message,
  notification,
  TEAM_ID,
} from './protocol'

type Tally = Omit<BenchResult, 'innerMs' | 'maxConcurrentStreams'>

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') return Response.json({ error: 'POST only' }, { status: 405 })
    const input = BenchRequest.safeParse(await request.json().catch(() => undefined))
    if (!input.success) return Response.json({ error: input.error.message }, { status: 400 })

    const started = Date.now()
    const { tally, maxConcurrentStreams } =
      input.data.row === 'h2' ? await direct(input.data) : await throughAdapter(input.data)
    const result: BenchResult = { ...tally, innerMs: Date.now() - started, maxConcurrentStreams }
    return Response.json(result)
  },
}

async function direct(input: BenchRequest) {
  const { body, headers } = notification(input.run, input.now)
  const authorization = `bearer ${input.bearer}`
  const connection = openH2(input.sink)
  const tally: Tally = { ok: 0, other: {} }
  let next = 0
  const lane = async () => {
    while (next < input.count) {
      const index = next++
      const outcome = await connection
        .request({
          method: 'POST',
          path: `/3/device/${deviceToken(input.run, index)}`,
          headers: { ...headers, 'apns-id': crypto.randomUUID(), authorization },
          body,
        })
        .then(
          (response) => response.status,
          (error: unknown) => (error instanceof H2Error ? error.kind : 'thrown'),
        )
      count(tally, outcome)
    }
  }
  await Promise.all(Array.from({ length: Math.min(input.window, input.count) }, lane))
  const { maxConcurrentStreams } = connection.stats
  await connection.close()
  return { tally, maxConcurrentStreams }
}

async function throughAdapter(input: BenchRequest) {
  const targets: Target[] = Array.from({ length: input.count }, (_, index) => ({
    installationId: String(index),
    token: deviceToken(input.run, index),
    registeredAt: 0,
  }))
  let connection: H2Connection | undefined
  const pool = new H2Pool((endpoint) => {
    connection = openH2(endpoint)
    return connection
  })
  const adapter = createApnsAdapter(
    // The key is never read: sharedToken below hands out the runner's token without minting.
    { privateKey: '', keyId: KEY_ID, teamId: TEAM_ID, bundleId: BUNDLE_ID, production: false },
    {
      endpoints: { production: input.sink, sandbox: input.sink },
      transport: (endpoint) => h2Transport(pool, endpoint, `${TEAM_ID}:${KEY_ID}`),
    },
  )
  const ctx: AdapterContext = {
    now: Date.now,
    fetch: (resource, init) => fetch(resource, init),
    sharedToken: async () => input.bearer,
  }
  const tally: Tally = { ok: 0, other: {} }
  try {
    const { outcomes } = await adapter.send(targets, message, delivery(input.run), ctx)
    for (const outcome of outcomes) {
      count(tally, outcome.kind === 'delivered' ? 200 : `${outcome.kind}:${outcome.reason}`)
    }
  } finally {
    await pool.close()
  }
  return { tally, maxConcurrentStreams: connection?.stats.maxConcurrentStreams ?? 0 }
}

function count(tally: Tally, outcome: number | string) {
  if (outcome === 200) {
    tally.ok++
    return
  }
  const key = String(outcome)
  tally.other[key] = (tally.other[key] ?? 0) + 1
}
