/**
 * The Worker the encryption benchmark runs under `wrangler dev` (bench/encryption.ts): one
 * endpoint that RFC 8291-encrypts one payload for each subscription it is given, with the same
 * library call as the Web Push adapter (`encryptNotification(subscription, plaintext, { pad:
 * false })`). With `op: 'fetch'` it sends one request per subscription instead
 * (bench/requests.ts).
 *
 * Timing is done by the caller, from outside: in production workerd coarsens its clocks (Spectre
 * mitigation) so that `performance.now()` stands still while a request computes and moves only
 * across I/O. The answer still carries the inner reading, for comparison. `op: 'none'` does
 * everything but the work (read and parse the same body), so that the caller can subtract the
 * request's own cost; the other ops time one step of the encryption each, to show where the
 * time goes.
 */
import { encryptNotification, type PushSubscription } from '@block65/webcrypto-web-push'

export const OPS = [
  'none',
  'full',
  'import',
  'generate',
  'ecdh',
  'hkdf',
  'aes',
  'hkdfNative',
  'fetch',
] as const
export type Op = (typeof OPS)[number]

export type EncryptRequest = {
  subscriptions: { endpoint: string; keys: { p256dh: string; auth: string } }[]
  payload: string
  op: Op
  /** How many ciphertexts to send back, base64, for the caller to decrypt independently. */
  samples?: number
  /** `op: 'fetch'`: POST this URL once per subscription, `inFlight` at a time. */
  target?: string
  inFlight?: number
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const
const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const

export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response('POST a benchmark', { status: 405 })
    const started = performance.now()
    // The bench's own driver sends this body: a cast is enough here.
    const input = (await request.json()) as EncryptRequest
    const plaintext = new TextEncoder().encode(input.payload)
    const local = (await crypto.subtle.generateKey(ECDH, false, ['deriveBits'])) as CryptoKeyPair
    const samples: string[] = []
    let bytes = input.op === 'fetch' ? await fetchAll(input) : 0
    const each = input.op === 'fetch' ? [] : input.subscriptions
    for (const [i, { endpoint, keys }] of each.entries()) {
      if (input.op === 'full') {
        const subscription: PushSubscription = { endpoint, expirationTime: null, keys }
        const body = await encryptNotification(subscription, plaintext, { pad: false })
        bytes += body.byteLength
        if (i < (input.samples ?? 0)) samples.push(toBase64(body))
      } else {
        bytes += await step(input.op, keys, local, plaintext)
      }
    }
    const innerMs = performance.now() - started
    return Response.json({ count: input.subscriptions.length, bytes, innerMs, samples })
  },
} satisfies ExportedHandler

/**
 * One request per subscription to `target`, `inFlight` at a time, as the adapters send them: a
 * JSON body of an FCM message's size, the answer read to the end. What a delivery costs workerd
 * besides its own network's work.
 */
async function fetchAll(input: EncryptRequest): Promise<number> {
  const target = input.target ?? ''
  const body = JSON.stringify({
    message: { token: 'x'.repeat(160), data: { alert: input.payload } },
  })
  const next = input.subscriptions.keys()
  let bytes = 0
  const worker = async () => {
    for (const _ of next) {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer bench' },
        body,
      })
      bytes += (await res.text()).length
    }
  }
  await Promise.all(Array.from({ length: input.inFlight ?? 6 }, worker))
  return bytes
}

/**
 * One step of RFC 8291 as the library does it (its own calls, one group at a time), or the
 * alternative `hkdfNative`: the same two HKDFs as WebCrypto's own HKDF, 5 calls instead of 9.
 */
async function step(
  op: Op,
  keys: { p256dh: string; auth: string },
  local: CryptoKeyPair,
  plaintext: Uint8Array,
): Promise<number> {
  const point = fromBase64Url(keys.p256dh)
  const secret = fromBase64Url(keys.auth)
  switch (op) {
    case 'import':
      await crypto.subtle.importKey('raw', point, ECDH, false, [])
      return 1
    case 'generate': {
      const pair = (await crypto.subtle.generateKey(ECDH, false, ['deriveBits'])) as CryptoKeyPair
      return ((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer).byteLength
    }
    case 'ecdh': {
      const publicKey = await crypto.subtle.importKey('raw', point, ECDH, false, [])
      // workers-types spells the member `$public`; the runtime reads `public`, as the library does.
      const algorithm = {
        name: 'ECDH',
        public: publicKey,
      } as unknown as SubtleCryptoDeriveKeyAlgorithm
      const bits = await crypto.subtle.deriveBits(algorithm, local.privateKey, 256)
      return bits.byteLength
    }
    case 'hkdf': {
      // Two HKDFs by hand: import + sign (extract), import, then one sign per output.
      let n = 0
      for (const outputs of [1, 2]) {
        const salt = await crypto.subtle.importKey('raw', secret, HMAC, false, ['sign'])
        const prk = await crypto.subtle.sign('HMAC', salt, point)
        const expand = await crypto.subtle.importKey('raw', prk, HMAC, false, ['sign'])
        for (let i = 0; i < outputs; i++)
          n += (await crypto.subtle.sign('HMAC', expand, secret)).byteLength
      }
      return n
    }
    case 'hkdfNative': {
      const hkdf = (key: BufferSource, info: Uint8Array, bits: number) =>
        crypto.subtle
          .importKey('raw', key, 'HKDF', false, ['deriveBits'])
          .then((k) =>
            crypto.subtle.deriveBits(
              { name: 'HKDF', hash: 'SHA-256', salt: secret, info },
              k,
              bits,
            ),
          )
      const ikm = await hkdf(point.subarray(0, 32), point, 256)
      const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits'])
      const derive = (bits: number) =>
        crypto.subtle.deriveBits(
          { name: 'HKDF', hash: 'SHA-256', salt: secret, info: point },
          key,
          bits,
        )
      return (await derive(128)).byteLength + (await derive(96)).byteLength
    }
    case 'aes': {
      const key = await crypto.subtle.importKey('raw', secret, 'AES-GCM', false, ['encrypt'])
      const iv = secret.subarray(0, 12)
      return (await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plaintext)).byteLength
    }
    case 'none':
    case 'full':
    case 'fetch':
      return 0
  }
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}

function toBase64(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text)
}
