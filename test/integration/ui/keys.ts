/// <reference types="node" />
// Credentials whose private halves the test knows, so that it can look for them in what the
// browser received: a VAPID pair, an APNs .p8 signing key and an FCM service-account file, each
// in the form its network hands out. Pushgate generates VAPID pairs itself, and a generated
// private key cannot be searched for; a pair given through the admin API can.
import { generateKeyPairSync, randomBytes } from 'node:crypto'

export type KnownKeys = {
  vapid: { publicKey: string; privateKey: string }
  p8: string
  serviceAccount: Record<string, string>
  /** Texts that must appear in no page: each private key in every encoding a page could use. */
  secrets: { name: string; text: string }[]
}

export function knownKeys(): KnownKeys {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = ec.privateKey.export({ format: 'jwk' })
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ])
  // Web Push's own encodings: the uncompressed point and the raw scalar, unpadded base64url.
  const vapid = { publicKey: point.toString('base64url'), privateKey: jwk.d ?? '' }

  const apns = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const p8 = apns.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const projectId = `ui-keys-${randomBytes(3).toString('hex')}`
  const serviceAccount = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    client_email: `push@${projectId}.iam.gserviceaccount.com`,
    token_uri: 'https://oauth2.googleapis.com/token',
  }

  const scalar = Buffer.from(vapid.privateKey, 'base64url')
  const secrets = [
    { name: 'VAPID private key (base64url)', text: vapid.privateKey },
    { name: 'VAPID private key (base64)', text: scalar.toString('base64').replace(/=+$/, '') },
    { name: 'VAPID private key (hex)', text: scalar.toString('hex') },
    ...pemLines('.p8 key', p8),
    ...pemLines('service-account private_key', serviceAccount.private_key),
  ]
  return { vapid, p8, serviceAccount, secrets }
}

/**
 * A PEM key's base64 lines, each long enough to be unique: a page that shows a key shows its
 * lines, whether the PEM is printed as it is, inside JSON (lines joined by `\n`) or escaped.
 */
function pemLines(name: string, pem: string) {
  return pem
    .split('\n')
    .filter((line) => line.length >= 32 && !line.startsWith('-----'))
    .map((text, i) => ({ name: `${name}, line ${i + 1}`, text }))
}
