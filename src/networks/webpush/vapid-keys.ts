// VAPID (RFC 8292) key pairs and subjects for `web_push` variants: generating a pair, checking a
// pair an operator brings, and checking the subject (the variant's `alias`).
//
// Stored form, as @block65/webcrypto-web-push 2.0.0 takes it in `VapidKeys` (checked in its
// dist/lib/vapid.js): `publicKey` is base64url of the 65-byte uncompressed point 0x04||x||y; the
// library slices x and y out of it and also copies the string verbatim into the `k=` parameter of
// the Authorization header. `privateKey` is base64url of the 32-byte scalar, used verbatim as the
// JWK `d`. Neither value is checked by the library, and both are used as strings, so they must be
// unpadded base64url: checkVapidPair refuses anything else. This is also the form browsers take
// as `applicationServerKey` and the form the `web-push` npm package generates.
import { base64url, CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose'
import { z } from 'zod'

export type VapidKeyPair = { publicKey: string; privateKey: string }

const POINT_BYTES = 65
const SCALAR_BYTES = 32
const COORDINATE_BYTES = 32
const UNPADDED_BASE64URL = /^[A-Za-z0-9_-]+$/

/** A new P-256 pair in the stored form described above. */
export async function generateVapidKeys(): Promise<VapidKeyPair> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const { x, y, d } = await exportJWK(privateKey)
  if (!x || !y || !d) throw new Error('P-256 JWK export lacks x, y or d: the runtime is broken')

  const point = new Uint8Array(POINT_BYTES)
  point[0] = 0x04
  point.set(base64url.decode(x), 1)
  point.set(base64url.decode(y), 1 + COORDINATE_BYTES)
  return { publicKey: base64url.encode(point), privateKey: d }
}

function decode(text: string): Uint8Array | null {
  if (!UNPADDED_BASE64URL.test(text)) return null
  try {
    return base64url.decode(text)
  } catch {
    return null
  }
}

/**
 * True when both keys are in the stored form and belong together. WebCrypto does not require an
 * implementation to check that `d` matches `x` and `y` on JWK import (workerd's BoringSSL does,
 * other runtimes may not), so the pair is proven by a signature made with the private key and
 * verified with the public one.
 */
export async function checkVapidPair(publicKey: string, privateKey: string): Promise<boolean> {
  const point = decode(publicKey)
  const scalar = decode(privateKey)
  if (point?.byteLength !== POINT_BYTES || point[0] !== 0x04) return false
  if (scalar?.byteLength !== SCALAR_BYTES) return false

  const x = base64url.encode(point.subarray(1, 1 + COORDINATE_BYTES))
  const y = base64url.encode(point.subarray(1 + COORDINATE_BYTES))
  try {
    const signing = await importJWK({ kty: 'EC', crv: 'P-256', x, y, d: privateKey }, 'ES256')
    const verifying = await importJWK({ kty: 'EC', crv: 'P-256', x, y }, 'ES256')
    const probe = new TextEncoder().encode('pushgate vapid pair check')
    const jws = await new CompactSign(probe).setProtectedHeader({ alg: 'ES256' }).sign(signing)
    await compactVerify(jws, verifying)
    return true
  } catch {
    // Not a point on the curve, a scalar out of range, or a signature that does not verify.
    return false
  }
}

// Names that never reach a real contact. localhost, .local and .invalid are required: Apple's
// push service refuses a localhost subject, and the others cannot be resolved. .test, .example,
// .internal and home.arpa are reserved the same way (RFC 2606, RFC 6761, RFC 8375, ICANN 2024),
// so they are refused too. example.com and friends stay allowed: they are real, resolvable names.
const LOCAL_SUFFIXES = ['localhost', 'local', 'invalid', 'test', 'example', 'internal', 'home.arpa']

// IP literals are refused as well: a subject is how a push service reaches the operator, which
// needs a domain name, and loopback or private addresses would be useless to it.
function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
}

function hostProblem(rawHost: string): string | null {
  const host = rawHost.toLowerCase().replace(/\.$/, '')
  const notPublic = `The VAPID subject must name a public domain, not "${host}"`
  if (isIpLiteral(host)) return `${notPublic}: IP addresses are refused.`
  const local = LOCAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))
  if (local) return `${notPublic}: that name is local or reserved.`
  if (!host.includes('.')) return `${notPublic}: a bare host name is local.`
  return null
}

const ONE_ADDRESS = 'The VAPID subject must hold one email address after mailto:.'

function mailtoProblem(url: URL): string | null {
  const address = url.pathname
  const at = address.lastIndexOf('@')
  if (at < 1) return ONE_ADDRESS
  const problem = hostProblem(address.slice(at + 1))
  if (problem) return problem
  return z.email().safeParse(address).success ? null : ONE_ADDRESS
}

/**
 * The VAPID subject's problem as a sentence, or null when it is usable: a `mailto:` address or
 * an `https:` URL, either on a public domain.
 */
export function checkVapidSubject(subject: string): string | null {
  const url = URL.parse(subject.trim())
  if (url?.protocol === 'mailto:') return mailtoProblem(url)
  if (url?.protocol === 'https:') return hostProblem(url.hostname)
  if (url?.protocol === 'http:') return 'The VAPID subject must use https:, not http:.'
  return 'The VAPID subject must be a mailto: address or an https: URL.'
}
