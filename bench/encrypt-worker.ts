/**
 * The Worker the encryption benchmark runs under `wrangler dev` (bench/encryption.ts): one
 * endpoint that RFC 8291-encrypts one payload for each subscription it is given, with the same
 * library call as the Web Push adapter (`encryptNotification(subscription, plaintext, { pad:
 * false })`).
 *
 * Timing is done by the caller, from outside: workerd coarsens its clocks (Spectre mitigation),
 * so `performance.now()` stands still while a request computes and only moves across I/O. The
 * answer still carries the inner reading, to show that it is useless for this. `encrypt: false`
 * does everything but the encryption (read and parse the same body), so that the caller can
 * subtract the request's own cost.
 */
import { encryptNotification, type PushSubscription } from '@block65/webcrypto-web-push'

type EncryptRequest = {
  subscriptions: { endpoint: string; keys: { p256dh: string; auth: string } }[]
  payload: string
  encrypt: boolean
  /** How many ciphertexts to send back, base64, for the caller to decrypt independently. */
  samples?: number
}

export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response('POST /encrypt', { status: 405 })
    const started = performance.now()
    // Bench input from the bench's own driver: a cast is enough here.
    const input = (await request.json()) as EncryptRequest
    const plaintext = new TextEncoder().encode(input.payload)
    const samples: string[] = []
    let bytes = 0
    if (input.encrypt) {
      for (const [i, { endpoint, keys }] of input.subscriptions.entries()) {
        const subscription: PushSubscription = { endpoint, expirationTime: null, keys }
        const body = await encryptNotification(subscription, plaintext, { pad: false })
        bytes += body.byteLength
        if (i < (input.samples ?? 0)) samples.push(toBase64(body))
      }
    }
    const innerMs = performance.now() - started
    return Response.json({ count: input.subscriptions.length, bytes, innerMs, samples })
  },
} satisfies ExportedHandler

function toBase64(bytes: Uint8Array): string {
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text)
}
