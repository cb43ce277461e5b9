import { describe, expect, it } from 'vitest'
import { remainingTtl } from '../../src/dispatch/deliver'

const SUBMIT = 1_800_000_000_000

describe('remainingTtl', () => {
  it('leaves no TTL alone', () => {
    expect(remainingTtl(undefined, SUBMIT, SUBMIT + 3_600_000)).toBeUndefined()
  })

  it('counts the time to live from the send request, not from the attempt', () => {
    expect(remainingTtl(3600, SUBMIT, SUBMIT)).toBe(3600)
    expect(remainingTtl(3600, SUBMIT, SUBMIT + 61_500)).toBe(3539)
    expect(remainingTtl(60, SUBMIT, SUBMIT + 60_000)).toBe('expired')
  })

  it('keeps 0 as 0 while the request is fresh, and expires it after', () => {
    expect(remainingTtl(0, SUBMIT, SUBMIT + 900)).toBe(0)
    expect(remainingTtl(0, SUBMIT, SUBMIT + 1000)).toBe('expired')
  })
})
