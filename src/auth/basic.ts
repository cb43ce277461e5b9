/**
 * HTTP Basic credentials (RFC 7617) as devices and backends send them: `id:secret`, the id being
 * a variantID or a pushApplicationID. The secret may contain colons; the id may not.
 */
export type BasicCredentials = { id: string; secret: string }

export function readBasic(header: string | undefined): BasicCredentials | null {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '')
  if (!match?.[1]) return null
  let decoded: string
  try {
    const bytes = Uint8Array.from(atob(match[1]), (char) => char.charCodeAt(0))
    decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return null
  }
  const colon = decoded.indexOf(':')
  if (colon <= 0) return null
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}
