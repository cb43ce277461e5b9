/**
 * The APNs probe as a Worker, apart from Pushgate (its own wrangler.toml, no bindings): sends one
 * notification through Pushgate's own code (createApnsAdapter, the `h2` or `fetch` transport, an
 * in-memory provider token) from where `cloudflare:sockets` exists, which plain Node is not.
 * `npm run probe:apns` runs it locally in workerd; deployed for a few minutes as
 * `pushgate-probe`, it proves what no local run can: that Apple accepts HTTP/2 over a deployed
 * Worker's socket, which offers no ALPN (h2/connection.ts), before APNS_TRANSPORT=h2 may be the
 * production default. README, "Proving the h2 transport".
 *
 * `POST /` with `Authorization: Bearer <PROBE_TOKEN>` and a ProbeRequest (protocol.ts); answers
 * a ProbeResult. Without the PROBE_TOKEN secret every request is refused, so a deployed probe is
 * inert until the operator sets it. The .p8 key in the request signs one provider token and is
 * neither stored nor logged; the answer carries no token or key.
 */
import { safeEqual } from '../../src/auth/secrets'
import type { AdapterContext, Target } from '../../src/networks/adapter'
import { createApnsAdapter } from '../../src/networks/apns/adapter'
import { parseApnsError } from '../../src/networks/apns/classify'
import { fetchTransport } from '../../src/networks/apns/fetch-transport'
import { type H2Connection, openH2 } from '../../src/networks/apns/h2/connection'
import { H2Pool, h2Transport } from '../../src/networks/apns/h2-transport'
import { checkApnsCredentials } from '../../src/networks/apns/signing-key'
import type { ApnsTransport } from '../../src/networks/apns/transport'
import { normaliseDeviceToken } from '../../src/push/device-token'
import { Message } from '../../src/push/message'
import { ProbeRequest, type ProbeResult } from './protocol'

type ProbeEnv = { PROBE_TOKEN?: string }

type Attempt = Extract<ProbeResult, { sent: true }>['attempts'][number]

const message = Message.parse({ alert: 'Pushgate probe', sound: 'default' })

export default {
  async fetch(request: Request, env: ProbeEnv): Promise<Response> {
    const bearer = /^Bearer (.+)$/.exec(request.headers.get('Authorization') ?? '')?.[1]
    const expected = env.PROBE_TOKEN
    if (!expected || !bearer || !(await safeEqual(bearer, expected))) {
      return Response.json({ error: 'unauthorized' }, { status: 401 })
    }
    if (request.method !== 'POST') return Response.json({ error: 'POST only' }, { status: 405 })

    const input = ProbeRequest.safeParse(await request.json().catch(() => undefined))
    if (!input.success) {
      const problems = Object.fromEntries(
        input.error.issues.map((issue) => [issue.path.join('.') || 'body', issue.message]),
      )
      return Response.json({ sent: false, problems } satisfies ProbeResult, { status: 400 })
    }
    const result = await probe(input.data)
    return Response.json(result, { status: result.sent ? 200 : 400 })
  },
}

async function probe(input: ProbeRequest): Promise<ProbeResult> {
  const credentials = await checkApnsCredentials(input)
  const token = await normaliseDeviceToken('ios_token', input.deviceToken, {
    allowInsecure: false,
  })
  if (!credentials.ok || !token.ok) {
    const problems = {
      ...(!credentials.ok && credentials.details),
      ...(!token.ok && { deviceToken: token.reason }),
    }
    return { sent: false, problems }
  }

  const attempts: Attempt[] = []
  const connections: H2Connection[] = []
  const failures: string[] = []
  const pool = new H2Pool((endpoint) => {
    const connection = openH2(endpoint)
    connections.push(connection)
    // The transport keeps only the kind of a failure; the probe wants the client's sentence too
    // (say, "server preface is not SETTINGS": the server did not take HTTP/2 without ALPN).
    const request = connection.request.bind(connection)
    connection.request = (req, opts) =>
      request(req, opts).catch((error: unknown) => {
        failures.push(error instanceof Error ? error.message : String(error))
        throw error
      })
    return connection
  })
  const adapter = createApnsAdapter(
    { ...credentials.value, bundleId: input.bundleId, production: false },
    {
      // The probe names its endpoint itself; `production` only picks between these two.
      endpoints: { production: input.endpoint, sandbox: input.endpoint },
      transport: (endpoint) =>
        recorded(
          input.transport === 'h2'
            ? h2Transport(pool, endpoint, `${input.teamId}:${input.keyId}`)
            : fetchTransport(endpoint),
          attempts,
          failures,
        ),
    },
  )

  const started = Date.now()
  const target: Target = { installationId: 'probe', token: token.token, registeredAt: 0 }
  try {
    const { outcomes } = await adapter.send([target], message, delivery(), memoryContext())
    const [outcome = { kind: 'failed', reason: 'no_outcome' }] = outcomes
    const last = connections.at(-1)
    return {
      sent: true,
      transport: input.transport,
      endpoint: input.endpoint,
      attempts,
      outcome: 'reason' in outcome ? { kind: outcome.kind, reason: outcome.reason } : outcome,
      ...(last && {
        h2: {
          connections: connections.length,
          maxConcurrentStreams: last.stats.maxConcurrentStreams,
        },
      }),
      ms: Date.now() - started,
    }
  } finally {
    await pool.close()
  }
}

/** Passes every request through, writing down what came back. */
function recorded(inner: ApnsTransport, attempts: Attempt[], failures: string[]): ApnsTransport {
  return {
    get maxInFlight() {
      return inner.maxInFlight
    },
    async send(request, opts) {
      const answer = await inner.send(request, opts)
      if (answer.kind === 'transport') {
        const detail = failures.at(-1)
        attempts.push({ kind: 'transport', reason: answer.reason, ...(detail && { detail }) })
      } else {
        const reason = parseApnsError(answer.body)?.reason
        const apnsId = answer.headers['apns-id']
        attempts.push({
          kind: 'response',
          status: answer.status,
          ...(apnsId && { apnsId }),
          ...(reason && { reason }),
        })
      }
      return answer
    },
    close: () => inner.close(),
  }
}

/** An hour to live, and a push message id that says where it came from. */
function delivery() {
  return { ttl: 3600, pushMessageId: `probe-${crypto.randomUUID()}` }
}

/** One provider token, minted for this probe and forgotten with it. */
function memoryContext(): AdapterContext {
  const tokens = new Map<string, string>()
  return {
    now: Date.now,
    fetch: (input, init) => fetch(input, init),
    sharedToken: async (key, mint, opts) => {
      const known = tokens.get(key)
      if (known && known !== opts.rejected) return known
      const { token } = await mint()
      tokens.set(key, token)
      return token
    },
  }
}
