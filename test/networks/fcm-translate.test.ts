import { describe, expect, it } from 'vitest'
import {
  FCM_MAX_PAYLOAD,
  fcmPayloadBytes,
  fcmReservedDataKeys,
  translateFcm,
} from '../../src/networks/fcm/translate'
import { type DeliveryOptions, Message, type UnifiedMessage } from '../../src/push/message'

const TOKEN = 'device-token'
const options: DeliveryOptions = { ttl: undefined, pushMessageId: 'job-1' }

// Messages go through the sender's schema first, as they do in production.
const parse = (input: unknown): UnifiedMessage => Message.parse(input)

describe('translateFcm', () => {
  it('turns every user-data value into a string FCM accepts (case 4)', () => {
    const message = parse({
      alert: 'hi',
      'user-data': { type: 'chat', id: 21465, flag: true, nested: { a: 1 }, none: null },
    })
    const { message: fcm } = translateFcm(message, options, TOKEN)
    expect(fcm.data).toStrictEqual({
      type: 'chat',
      id: '21465',
      flag: 'true',
      nested: '{"a":1}',
      none: 'null',
      'aerogear-push-id': 'job-1',
    })
  })

  it('keeps ttl 0 as "0s" and leaves ttl out when none was asked (case 5)', () => {
    const message = parse({ alert: 'now or never' })
    expect(translateFcm(message, { ...options, ttl: 0 }, TOKEN).message.android.ttl).toBe('0s')
    expect(translateFcm(message, { ...options, ttl: 3600 }, TOKEN).message.android.ttl).toBe(
      '3600s',
    )
    expect(translateFcm(message, options, TOKEN).message.android).not.toHaveProperty('ttl')
  })

  it('writes the whole body for an alert with title, sound and badge', () => {
    const message = parse({
      alert: 'Your order shipped',
      sound: 'default',
      badge: '3',
      priority: 'high',
      apns: { title: 'Shop' },
    })
    expect(translateFcm(message, { ...options, ttl: 60 }, TOKEN)).toStrictEqual({
      message: {
        token: TOKEN,
        notification: { title: 'Shop', body: 'Your order shipped' },
        data: { 'aerogear-push-id': 'job-1' },
        android: {
          priority: 'HIGH',
          ttl: '60s',
          notification: { sound: 'default', notification_count: 3 },
        },
      },
    })
  })

  it('sends a silent data message when there is no alert: no notification of any kind', () => {
    const message = parse({ sound: 'ping', badge: 2, 'user-data': { sync: 'now' } })
    expect(translateFcm(message, options, TOKEN)).toStrictEqual({
      message: {
        token: TOKEN,
        data: { sync: 'now', 'aerogear-push-id': 'job-1' },
        android: { priority: 'NORMAL' },
      },
    })
  })

  it('leaves the title out when there is none, and a badge of 0 (FCM reads 0 as unset)', () => {
    const message = parse({ alert: 'plain', badge: 0, priority: 'normal' })
    const { message: fcm } = translateFcm(message, options, TOKEN)
    expect(fcm.notification).toStrictEqual({ body: 'plain' })
    expect(fcm.android).toStrictEqual({ priority: 'NORMAL' })
  })

  it('lets the push id win over a user-data key of the same name', () => {
    const message = parse({ 'user-data': { 'aerogear-push-id': 'forged' } })
    expect(translateFcm(message, options, TOKEN).message.data['aerogear-push-id']).toBe('job-1')
  })
})

describe('fcmPayloadBytes', () => {
  const idBytes = 'aerogear-push-id'.length + 'job-1'.length

  it('counts UTF-8 bytes, not characters (case 3)', () => {
    const alert = '\u{1F600}'.repeat(1000)
    expect(fcmPayloadBytes(parse({ alert }), options)).toBe(4000 + idBytes)
  })

  it('counts the title, and the keys and values of data', () => {
    const message = parse({ alert: 'é', apns: { title: 'ü' }, 'user-data': { k: 21465 } })
    expect(fcmPayloadBytes(message, options)).toBe(2 + 2 + 1 + 5 + idBytes)
  })

  it('puts a message one byte over the limit over it', () => {
    const fits = 'a'.repeat(FCM_MAX_PAYLOAD - idBytes)
    expect(fcmPayloadBytes(parse({ alert: fits }), options)).toBe(FCM_MAX_PAYLOAD)
    expect(fcmPayloadBytes(parse({ alert: `${fits}a` }), options)).toBe(FCM_MAX_PAYLOAD + 1)
  })
})

describe('fcmReservedDataKeys', () => {
  it('names the user-data keys FCM refuses', () => {
    const message = parse({
      'user-data': { from: 1, message_type: 'x', 'google.c.a': 'x', gcm_x: 'x', fromage: 'ok' },
    })
    expect(fcmReservedDataKeys(message)).toStrictEqual([
      'from',
      'message_type',
      'google.c.a',
      'gcm_x',
    ])
  })
})
