// Types for the one function of the `web-push` npm package the encryption benchmark compares
// against (src/encryption-helper.js of web-push 3.x). The package ships none.
declare module 'web-push' {
  /** RFC 8291 encryption; for aes128gcm `cipherText` is the whole RFC 8188 body. */
  export function encrypt(
    userPublicKey: string,
    userAuth: string,
    payload: string | Buffer,
    contentEncoding: 'aes128gcm' | 'aesgcm',
  ): { localPublicKey: Buffer; salt: string; cipherText: Buffer }

  const webPush: { encrypt: typeof encrypt }
  export default webPush
}
