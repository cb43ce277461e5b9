// The fake FCM is only worth what it refuses: these tests hold it to Google's behaviour, so that
// an adapter test passing against it means something.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { classifyFcm, parseFcmError } from '../../src/networks/fcm/classify'
import { mintFcmAccessToken } from '../../src/networks/fcm/oauth'
import type { ServiceAccount } from '../../src/networks/fcm/service-account'
import { DELIBERATE, fake, fcmToken, fcmUrl, newAccount } from '../fakes/fcm-client'

let account: ServiceAccount
let bearer: string

beforeAll(async () => {
  account = await newAccount()
  const minted = await mintFcmAccessToken(account, { now: Date.now, fetch })
  if (!minted.ok) throw new Error(`the fake refused to mint: ${minted.reason}`)
  bearer = minted.token
})

afterEach(async () => {
  expect(await fake.unexpected()).toStrictEqual([])
})

function post(message: unknown, opts: { auth?: string | null; project?: string } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  const auth = opts.auth === undefined ? `Bearer ${bearer}` : opts.auth
  if (auth) headers.Authorization = auth
  const project = opts.project ?? account.project_id
  return fetch(`${fcmUrl()}/v1/projects/${project}/messages:send`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ message }),
  })
}

const valid = () => ({ token: fcmToken(), data: { a: 'b' }, android: { priority: 'HIGH' } })

describe('the fake messages:send refuses what Google refuses', () => {
  it('accepts a well-formed message and records it', async () => {
    const message = { ...valid(), android: { priority: 'NORMAL', ttl: '0s' } }
    const response = await post(message)
    expect(response.status).toBe(200)
    expect(await response.json()).toStrictEqual({
      name: expect.stringMatching(new RegExp(`^projects/${account.project_id}/messages/`)),
    })
    const received = await fake.messages(account.project_id)
    expect(received.at(-1)?.body).toStrictEqual({ message })
  })

  it('answers 400 INVALID_ARGUMENT to a data value that is not a string (case 4)', async () => {
    const response = await post({ ...valid(), data: { type: 'chat', id: 21465 } })
    expect(response.status).toBe(400)
    const description = "Invalid value at 'message.data[1].value' (TYPE_STRING), 21465"
    expect(await response.json()).toStrictEqual({
      error: {
        code: 400,
        message: description,
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [{ field: 'message.data[1].value', description }],
          },
        ],
      },
    })
  })

  it('which the adapter would take as a failed message, the token kept', async () => {
    const response = await post({ ...valid(), data: { flag: true } })
    const error = parseFcmError(await response.text())
    expect(classifyFcm(response.status, error, response.headers, Date.now())).toStrictEqual({
      kind: 'failed',
      reason: 'invalid_argument',
    })
  })

  it.each([
    ['a ttl without its unit', { android: { ttl: '0' } }],
    ['a ttl as a number', { android: { ttl: 0 } }],
    ['a ttl over four weeks', { android: { ttl: '2419201s' } }],
    ['a lower-case priority', { android: { priority: 'high' } }],
    ['an unknown field', { android: { priority: 'HIGH', time_to_live: 60 } }],
    ['an unknown top-level field', { priority: 'high' }],
    ['a badge that is not a number', { android: { notification: { notification_count: '3' } } }],
    ['a reserved data key', { data: { from: 'me' } }],
    ['a message over 4096 bytes', { data: { big: '\u{1F600}'.repeat(1030) } }],
    ['no token', { token: undefined }],
  ])('answers 400 to %s', async (_name, change) => {
    const response = await post({ ...valid(), ...change })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: { code: 400, status: 'INVALID_ARGUMENT' },
    })
  })

  it('accepts camelCase field names as Google does, and fractional ttl', async () => {
    const response = await post({
      ...valid(),
      android: { ttl: '3.5s', notification: { notificationCount: 2 } },
    })
    expect(response.status).toBe(200)
  })

  it('answers 401 without a token it issued, with the WWW-Authenticate header', async () => {
    for (const auth of [null, 'Bearer ya29.forged']) {
      const response = await post(valid(), { auth })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toContain('Bearer')
      expect(await response.json()).toMatchObject({
        error: { code: 401, status: 'UNAUTHENTICATED' },
      })
    }
  })

  it('answers 401 once the token has expired by its clock', async () => {
    const mine = await newAccount()
    const now = Date.now()
    await fake.clock(mine, now)
    const minted = await mintFcmAccessToken(mine, { now: () => now, fetch })
    if (!minted.ok) throw new Error(minted.reason)
    const send = () =>
      fetch(`${fcmUrl()}/v1/projects/${mine.project_id}/messages:send`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${minted.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: valid() }),
      })
    await fake.clock(mine, now + 3599_000 - 1)
    expect((await send()).status).toBe(200)
    await fake.clock(mine, now + 3599_000)
    expect((await send()).status).toBe(401)
  })

  it('answers a bare 404 NOT_FOUND, no FcmError, for an unknown project (case 7)', async () => {
    const response = await post(valid(), { project: 'no-such-project' })
    expect(response.status).toBe(404)
    expect(await response.json()).toStrictEqual({
      error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' },
    })
  })

  it('answers UNREGISTERED in Google exact shape', async () => {
    const response = await post({ ...valid(), token: fcmToken('unregistered') })
    expect(response.status).toBe(404)
    expect(await response.json()).toStrictEqual({
      error: {
        code: 404,
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
        details: [
          {
            '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
            errorCode: 'UNREGISTERED',
          },
        ],
      },
    })
  })

  it('lets a test choose the behaviour of a token that does not name one', async () => {
    const token = fcmToken('plain')
    await fake.behaviour(token, 'quota')
    const response = await post({ ...valid(), token })
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('17')
  })

  it('answers 404 to anything else and records it as unexpected', async () => {
    const path = `/v1/projects/${account.project_id}/${DELIBERATE}`
    const response = await fetch(`${fcmUrl()}${path}`)
    expect(response.status).toBe(404)
    const all = (await fetch(`${fcmUrl()}/_unexpected`).then((r) => r.json())) as unknown[]
    expect(all).toContainEqual({ method: 'GET', path })
  })
})
