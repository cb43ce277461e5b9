/// <reference types="node" />
/**
 * Web Push encryption cost per message: `encryptNotification(subscription, payload, { pad:
 * false })` from `@block65/webcrypto-web-push` inside workerd (bench/encrypt-worker.ts under
 * `wrangler dev`), against `encrypt()` of the `web-push` npm package on Node, both aes128gcm,
 * for the same N subscriptions and the same ~200-byte plaintext the Web Push adapter builds.
 *
 * Method. workerd's clock cannot time a request from inside (see encrypt-worker.ts), so each
 * round POSTs all N subscriptions twice, once to encrypt and once to only parse them, and times
 * both from here: (encrypt - parse) / N is the cost of one message, with the request's own cost
 * taken out. Node is timed around a loop of N `encrypt()` calls. Rounds alternate between the
 * two runtimes so that a load spike from elsewhere hits both; the median round is reported. The
 * CPU time of workerd (/proc) and of this process is read around the same calls, which shows
 * whether the elapsed time was spent computing. Every ciphertext checked is decrypted with
 * `http_ece`, independently of both libraries.
 */
import { createECDH, type ECDH, randomBytes } from 'node:crypto'
import { encryptNotification } from '@block65/webcrypto-web-push'
import ece from 'http_ece'
import webPush from 'web-push'
import { translateWebPush } from '../src/networks/webpush/translate'
import type { EncryptRequest, Op } from './encrypt-worker'
import { MESSAGE } from './pipeline'
import type { DevWorker } from './wrangler-dev'

export type EncryptionOptions = { messages: number; rounds: number }

/** µs per message: elapsed (median round) and CPU (same rounds, summed). */
export type Cost = { us: number; cpuUs: number }

export type EncryptionResult = {
  messages: number
  rounds: number
  payloadBytes: number
  workerd: Cost
  /** What `performance.now()` inside the Worker made of the same requests. */
  workerdInnerUs: number
  node: Cost
  /** The same library as the Worker, on Node's WebCrypto: for reference only. */
  nodeBlock65: Cost
  /** µs per message of each step inside workerd (`op` of encrypt-worker.ts), net of parsing. */
  steps: Partial<Record<Op, number>>
  /** µs per message of web-push's P-256 work on Node: key pair generation, ECDH. */
  nodeSteps: { generate: number; ecdh: number }
}

type Subscriber = {
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } }
  ecdh: ECDH
  auth: Buffer
}

const STEPS: Op[] = ['import', 'generate', 'ecdh', 'hkdf', 'hkdfNative', 'aes']

export async function benchEncryption(
  worker: DevWorker,
  opts: EncryptionOptions,
  say: (line: string) => void,
): Promise<EncryptionResult> {
  // The plaintext the adapter encrypts for a typical send (the pipeline bench's message).
  const { body } = translateWebPush(MESSAGE, { ttl: undefined, pushMessageId: crypto.randomUUID() })
  const plaintext = Buffer.from(body)
  const subscribers = Array.from({ length: opts.messages }, (_, i) => subscriber(i))
  const subscriptions = subscribers.map((s) => s.subscription)

  {
    say(
      `encrypt worker at ${worker.url}; ${opts.messages} subscriptions, ${plaintext.length}-byte payload`,
    )
    const post = async (op: Op, samples = 0) => {
      const request: EncryptRequest = { subscriptions, payload: body, op, samples }
      const cpu = await worker.workerdCpuMs()
      const t = performance.now()
      const res = await fetch(worker.url, { method: 'POST', body: JSON.stringify(request) })
      const answer = (await res.json()) as { innerMs: number; samples: string[] }
      return { ms: performance.now() - t, cpuMs: (await worker.workerdCpuMs()) - cpu, ...answer }
    }
    const onNode = async (encrypt: (s: Subscriber) => unknown) => {
      const cpu = process.cpuUsage()
      const t = performance.now()
      for (const s of subscribers) await encrypt(s)
      const ms = performance.now() - t
      const used = process.cpuUsage(cpu)
      return { ms, cpuMs: (used.user + used.system) / 1000 }
    }
    const webPushEncrypt = (s: Subscriber) =>
      webPush.encrypt(s.subscription.keys.p256dh, s.subscription.keys.auth, plaintext, 'aes128gcm')
    const block65Encrypt = (s: Subscriber) =>
      encryptNotification({ ...s.subscription, expirationTime: null }, plaintext, { pad: false })

    // Independent check of both outputs before timing anything.
    const checked = await post('full', 3)
    for (const [i, b64] of checked.samples.entries()) {
      expectDecrypts(Buffer.from(b64, 'base64'), subscribers[i], body)
    }
    for (const s of subscribers.slice(0, 3)) expectDecrypts(webPushBody(s, plaintext), s, body)

    // Warm-up: JIT on both sides.
    await post('none')
    await onNode(webPushEncrypt)

    const rounds = {
      workerd: [] as number[],
      inner: [] as number[],
      node: [] as number[],
      block65: [] as number[],
    }
    const cpu = { workerd: 0, node: 0, block65: 0 }
    const steps = new Map<Op, number[]>(STEPS.map((op) => [op, []]))
    const nodeSteps = { generate: [] as number[], ecdh: [] as number[] }
    const local = createECDH('prime256v1')
    local.generateKeys()
    for (let r = 0; r < opts.rounds; r++) {
      const full = await post('full')
      const none = await post('none')
      const node = await onNode(webPushEncrypt)
      const block65 = await onNode(block65Encrypt)
      rounds.workerd.push(perMessage(full.ms - none.ms, opts.messages))
      rounds.inner.push(perMessage(full.innerMs - none.innerMs, opts.messages))
      rounds.node.push(perMessage(node.ms, opts.messages))
      rounds.block65.push(perMessage(block65.ms, opts.messages))
      cpu.workerd += full.cpuMs - none.cpuMs
      cpu.node += node.cpuMs
      cpu.block65 += block65.cpuMs
      for (const op of STEPS) {
        steps.get(op)?.push(perMessage((await post(op)).ms - none.ms, opts.messages))
      }
      // web-push's two P-256 operations alone: the ephemeral key pair, the shared secret.
      nodeSteps.generate.push(
        perMessage((await onNode(() => createECDH('prime256v1').generateKeys())).ms, opts.messages),
      )
      nodeSteps.ecdh.push(
        perMessage(
          (await onNode((s) => local.computeSecret(s.ecdh.getPublicKey()))).ms,
          opts.messages,
        ),
      )
      say(
        `  round ${r + 1}/${opts.rounds}: workerd ${rounds.workerd.at(-1)?.toFixed(0)} µs, ` +
          `web-push on Node ${rounds.node.at(-1)?.toFixed(0)} µs per message`,
      )
    }

    const total = opts.messages * opts.rounds
    return {
      messages: opts.messages,
      rounds: opts.rounds,
      payloadBytes: plaintext.length,
      workerd: { us: median(rounds.workerd), cpuUs: perMessage(cpu.workerd, total) },
      workerdInnerUs: median(rounds.inner),
      node: { us: median(rounds.node), cpuUs: perMessage(cpu.node, total) },
      nodeBlock65: { us: median(rounds.block65), cpuUs: perMessage(cpu.block65, total) },
      steps: Object.fromEntries([...steps].map(([op, values]) => [op, median(values)])),
      nodeSteps: { generate: median(nodeSteps.generate), ecdh: median(nodeSteps.ecdh) },
    }
  }
}

/** A subscription as a browser (and the Web Push fake) makes one: a P-256 key and 16 bytes. */
function subscriber(i: number): Subscriber {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  const auth = randomBytes(16)
  const keys = { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') }
  return { subscription: { endpoint: `http://127.0.0.1/push/${i}`, keys }, ecdh, auth }
}

/** web-push's `encrypt()` answers the parts; this is the RFC 8188 body they make. */
function webPushBody(s: Subscriber, plaintext: Buffer): Buffer {
  const { cipherText } = webPush.encrypt(
    s.subscription.keys.p256dh,
    s.subscription.keys.auth,
    plaintext,
    'aes128gcm',
  )
  return cipherText
}

function expectDecrypts(body: Buffer, s: Subscriber | undefined, expected: string) {
  if (!s) throw new Error('no subscriber for a sample')
  const text = ece
    .decrypt(body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.auth })
    .toString('utf8')
  if (text !== expected) throw new Error('a ciphertext does not decrypt to the payload')
}

function perMessage(ms: number, messages: number): number {
  return (ms * 1000) / messages
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
