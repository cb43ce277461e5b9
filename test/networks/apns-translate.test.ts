import { describe, expect, it } from 'vitest'
import {
  APNS_MAX_PAYLOAD,
  apnsHeaders,
  apnsPayload,
  apnsPayloadBytes,
} from '../../src/networks/apns/translate'
import { type DeliveryOptions, Message } from '../../src/push/message'

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)
const options: DeliveryOptions = { ttl: undefined, pushMessageId: 'job-1' }
const translate = (input: unknown, opts: DeliveryOptions = options) => {
  const message = Message.parse(input)
  return {
    payload: apnsPayload(message, opts),
    headers: apnsHeaders(message, opts, 'com.example.app', NOW),
  }
}

describe('the APNs payload', () => {
  it.each([
    ['a plain alert stays a string', { alert: 'Hi' }, { alert: 'Hi' }],
    [
      'a title makes the alert a dictionary',
      { alert: 'Hi', apns: { title: 'T' } },
      { alert: { title: 'T', body: 'Hi' } },
    ],
    [
      'an action goes into the dictionary',
      { alert: 'Hi', apns: { title: 'T', action: 'Open' } },
      { alert: { title: 'T', body: 'Hi', action: 'Open' } },
    ],
    [
      'localised title keys go into the dictionary',
      { alert: 'Hi', apns: { 'title-loc-key': 'K', 'title-loc-args': ['a'] } },
      { alert: { body: 'Hi', 'title-loc-key': 'K', 'title-loc-args': ['a'] } },
    ],
    ['badge, as a number even when sent as text', { badge: '7' }, { badge: 7 }],
    ['sound', { alert: 'Hi', sound: 'ping.caf' }, { alert: 'Hi', sound: 'ping.caf' }],
    [
      'category from action-category',
      { alert: 'Hi', apns: { 'action-category': 'REPLY' } },
      { alert: 'Hi', category: 'REPLY' },
    ],
    [
      'content-available and mutable-content as 1',
      { alert: 'Hi', apns: { 'content-available': true, 'mutable-content': true } },
      { alert: 'Hi', 'content-available': 1, 'mutable-content': 1 },
    ],
    [
      'false flags are left out',
      { alert: 'Hi', apns: { 'content-available': false, 'mutable-content': false } },
      { alert: 'Hi' },
    ],
    [
      'url-args',
      { alert: 'Hi', apns: { 'url-args': ['a', 'b'] } },
      { alert: 'Hi', 'url-args': ['a', 'b'] },
    ],
  ])('%s', (_, input, aps) => {
    expect(translate(input).payload).toStrictEqual({ aps, 'aerogear-push-id': 'job-1' })
  })

  it('puts user-data at the top level, never over aps or the push id', () => {
    const { payload } = translate({
      alert: 'Hi',
      'user-data': { room: 'r1', n: 2, aps: 'x', 'aerogear-push-id': 'forged' },
    })
    expect(payload).toStrictEqual({
      room: 'r1',
      n: 2,
      aps: { alert: 'Hi' },
      'aerogear-push-id': 'job-1',
    })
  })

  it('counts bytes, not characters (case 3)', () => {
    const message = Message.parse({ alert: '\u{1F600}'.repeat(1000) })
    const bytes = apnsPayloadBytes(message, options)
    expect(bytes).toBe(
      new TextEncoder().encode(JSON.stringify(apnsPayload(message, options))).length,
    )
    expect(bytes).toBeGreaterThan(4000)
    expect(APNS_MAX_PAYLOAD).toBe(4096)
  })
})

describe('the APNs headers', () => {
  const base = { 'apns-topic': 'com.example.app' }

  it.each([
    ['an alert', { alert: 'Hi' }, { 'apns-push-type': 'alert', 'apns-priority': '10' }],
    [
      'content-available alone is a background push at priority 5',
      { apns: { 'content-available': true } },
      { 'apns-push-type': 'background', 'apns-priority': '5' },
    ],
    [
      'content-available with an alert is an alert',
      { alert: 'Hi', apns: { 'content-available': true } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'content-available with a title only is an alert',
      { apns: { 'content-available': true, title: 'T' } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'content-available with a localised title only is an alert',
      { apns: { 'content-available': true, 'title-loc-key': 'K' } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'content-available with a badge is an alert',
      { badge: 1, apns: { 'content-available': true } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'content-available with a sound is an alert',
      { sound: 'default', apns: { 'content-available': true } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'normal priority without an alert is 5',
      { badge: 3, priority: 'normal' },
      { 'apns-push-type': 'alert', 'apns-priority': '5' },
    ],
    [
      'normal priority with only a title still alerts: 10',
      { priority: 'normal', apns: { title: 'T' } },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
    [
      'normal priority with an alert is 10',
      { alert: 'Hi', priority: 'normal' },
      { 'apns-push-type': 'alert', 'apns-priority': '10' },
    ],
  ])('%s', (_, input, expected) => {
    expect(translate(input).headers).toStrictEqual({ ...base, ...expected })
  })

  it('keeps ttl 0 as apns-expiration 0, "now or never" (case 5)', () => {
    const { headers } = translate({ alert: 'Hi' }, { ...options, ttl: 0 })
    expect(headers['apns-expiration']).toBe('0')
  })

  it('turns a ttl into an absolute expiry in epoch seconds', () => {
    const { headers } = translate({ alert: 'Hi' }, { ...options, ttl: 3600 })
    expect(headers['apns-expiration']).toBe(String(Math.floor(NOW / 1000) + 3600))
  })

  it('sends no apns-expiration without a ttl, leaving Apple its default', () => {
    expect(translate({ alert: 'Hi' }).headers).not.toHaveProperty('apns-expiration')
  })
})
