// Types for the part of `http_ece` (RFC 8188, the reference implementation by the RFC's author)
// that the fake push service uses to decrypt what the Worker sends. The package ships none.
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto'

  export interface EceParams {
    version?: 'aes128gcm' | 'aesgcm'
    /** The receiver's ECDH key: the user agent's side of a Web Push subscription. */
    privateKey?: ECDH
    /** The subscription's 16-byte `auth` secret, as bytes or base64url. */
    authSecret?: Buffer | string
  }

  export function decrypt(buffer: Buffer, params: EceParams): Buffer
  export function encrypt(buffer: Buffer, params: EceParams & { dh?: Buffer | string }): Buffer

  const ece: { decrypt: typeof decrypt; encrypt: typeof encrypt }
  export default ece
}
