// Secret primitives shared by the three credential checks: hashing application master secrets for
// storage, comparing presented secrets in constant time, and minting new secrets and row ids.
import { base64url } from 'jose'

const encoder = new TextEncoder()

function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text))
}

/** Lower-case hex SHA-256 of the UTF-8 text: the stored form of a master secret. */
export async function sha256Hex(text: string): Promise<string> {
  const bytes = new Uint8Array(await sha256(text))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/**
 * Compares two secrets without the timing showing where they differ. Both sides are hashed
 * first so that the comparison always runs over 32 bytes: timingSafeEqual needs equal lengths,
 * and an early length check would leak the length of the stored secret.
 */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [digestA, digestB] = await Promise.all([sha256(a), sha256(b)])
  return crypto.subtle.timingSafeEqual(digestA, digestB)
}

/** 32 random bytes as base64url (43 characters): master secrets and variant secrets. */
export function randomSecret(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
}

/** A random UUID (v4) for new rows and push message ids. */
export function newId(): string {
  return crypto.randomUUID()
}
