/**
 * The `Retry-After` header every push network may send with a 429 or a 5xx (RFC 9110 §10.2.3):
 * delay-seconds or an HTTP-date, as milliseconds from `now`; undefined when it is neither.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined

  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000

  // Every HTTP-date form names a day or a month; Date.parse would also take bare numbers.
  const date = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
