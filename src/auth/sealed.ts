// Encryption at rest for what must be read back: network credentials (.p8 keys, service-account
// keys, VAPID private keys) and variant secrets. AES-256-GCM under the CREDENTIALS_KEY secret.
//
// Format: "v1.<iv>.<ciphertext+tag>", both base64url. The version prefix leaves room for a key
// rotation scheme later. The additional data is the owning row's id, so a ciphertext copied into
// another row fails to open instead of handing one tenant's credentials to another.
//
// IVs are 12 random bytes. NIST SP 800-38D bounds random IVs to 2^32 encryptions per key; one
// encryption per credential write is far below that.
import { base64url } from 'jose'

const VERSION = 'v1'
const IV_BYTES = 12
const KEY_BYTES = 32

const KEY_HELP =
  'CREDENTIALS_KEY must be 32 random bytes in base64 (for example `openssl rand -base64 32`); ' +
  '`npm start` writes one to .dev.vars, in production run `wrangler secret put CREDENTIALS_KEY`'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// Imported once per isolate and key string: this runs on every request that touches a credential.
// In practice the map holds one entry (two while a new key is being rolled out).
const imported = new Map<string, Promise<CryptoKey>>()

function decodeBase64(text: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(text.trim()), (char) => char.charCodeAt(0))
  } catch {
    return null
  }
}

/**
 * Imports CREDENTIALS_KEY. Throws when it is missing or not 32 bytes of base64: that is a
 * deployment mistake, and the message says how to fix it without repeating the value.
 */
export async function importCredentialsKey(base64: string | undefined): Promise<CryptoKey> {
  if (base64 === undefined || base64.trim() === '') {
    throw new Error(`CREDENTIALS_KEY is not set. ${KEY_HELP}`)
  }
  const cached = imported.get(base64)
  if (cached) return cached

  const bytes = decodeBase64(base64)
  if (bytes?.byteLength !== KEY_BYTES) {
    const found = bytes ? `decodes to ${bytes.byteLength} bytes` : 'is not valid base64'
    throw new Error(`CREDENTIALS_KEY ${found}. ${KEY_HELP}`)
  }
  const key = crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, [
    'encrypt',
    'decrypt',
  ])
  imported.set(base64, key)
  return key
}

/** Encrypts `plaintext` bound to `aad`, the id of the row that will hold the result. */
export async function seal(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const params = { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }
  const ciphertext = await crypto.subtle.encrypt(params, key, encoder.encode(plaintext))
  return `${VERSION}.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(ciphertext))}`
}

/**
 * Decrypts a value made by `seal` for the same row. Throws on any mismatch: sealed values are
 * written only by this Worker, so a failure means corruption, a moved value or a changed key,
 * never bad user input.
 */
export async function unseal(key: CryptoKey, sealed: string, aad: string): Promise<string> {
  const [version, iv, ciphertext, ...rest] = sealed.split('.')
  if (version !== VERSION || iv === undefined || ciphertext === undefined || rest.length > 0) {
    throw new Error('Sealed value is not in the v1 format: the stored row is corrupt')
  }
  const ivBytes = base64url.decode(iv)
  if (ivBytes.byteLength !== IV_BYTES) {
    throw new Error('Sealed value has a malformed IV: the stored row is corrupt')
  }

  const params = { name: 'AES-GCM', iv: ivBytes, additionalData: encoder.encode(aad) }
  try {
    const plaintext = await crypto.subtle.decrypt(params, key, base64url.decode(ciphertext))
    return decoder.decode(plaintext)
  } catch (cause) {
    throw new Error(
      'Sealed value does not open: the row was altered or copied from another row, ' +
        'or CREDENTIALS_KEY differs from the key it was sealed with',
      { cause },
    )
  }
}
