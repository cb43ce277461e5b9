// Proves the wrangler-dev harness itself: a real Worker comes up with the migrations applied and
// the harness's own admin token, and auth is enforced over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningWorker, startWorker } from './wrangler-dev'

describe('wrangler dev harness', () => {
  let worker: RunningWorker

  beforeAll(async () => {
    worker = await startWorker()
  })

  afterAll(async () => {
    await worker?.stop()
  })

  it('answers ping', async () => {
    const res = await fetch(`${worker.url}/rest/sys/info/ping`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('OK')
  })

  it('refuses the admin API without a bearer token', async () => {
    const res = await fetch(`${worker.url}/rest/applications`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBeTruthy()
    expect(await res.json()).toEqual({ message: 'Unauthorized Request' })
  })

  it('opens the admin API to the admin token', async () => {
    const res = await fetch(`${worker.url}/rest/applications`, {
      headers: { authorization: `Bearer ${worker.adminToken}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual([])
  })
})
