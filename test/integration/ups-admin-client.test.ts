// The real UPS admin client from npm (`@aerogear/unifiedpush-admin-client`) against a real
// `wrangler dev`: what existing UPS tooling does must keep working. Keycloak-type credentials
// that carry a `token` make the client send that token as a bearer, which is our ADMIN_TOKEN.
import { UpsAdminClient } from '@aerogear/unifiedpush-admin-client'
import { exportPKCS8, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningWorker, startWorker } from './wrangler-dev'

describe('the UPS admin client', () => {
  let worker: RunningWorker
  let ups: UpsAdminClient

  beforeAll(async () => {
    worker = await startWorker()
    ups = new UpsAdminClient(worker.url, {
      type: 'keycloak',
      kcUrl: 'http://keycloak.invalid',
      token: worker.adminToken,
    })
  })

  afterAll(async () => {
    await worker?.stop()
  })

  it('creates, lists, renews and deletes applications and variants', async () => {
    const app = await ups.applications.create('integration').withDescription('via UPS').execute()
    expect(app.pushApplicationID).toMatch(/^[0-9a-f-]{36}$/)
    expect(app.masterSecret).toHaveLength(43)
    const appId = app.pushApplicationID as string

    const web = await ups.variants.web_push
      .create(appId)
      .withName('website')
      .withAlias('mailto:ops@example.com')
      .execute()
    expect(web.type).toBe('web_push')
    expect(web.publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/)
    expect(web).not.toHaveProperty('privateKey')

    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const ios = await ups.variants.ios_token
      .create(appId)
      .withName('iphone')
      .withTeamID('TEAM123456')
      .withKeyID('ABCDE12345')
      .withBundleID('com.example.app')
      .withPrivateKey(await exportPKCS8(privateKey))
      .isDevelopment()
      .execute()
    expect(ios).toMatchObject({ type: 'ios_token', bundleId: 'com.example.app', production: false })
    expect(ios).not.toHaveProperty('privateKey')

    const all = await ups.variants.search(appId).execute()
    expect(all.map((v) => v.variantID).sort()).toEqual([web.variantID, ios.variantID].sort())
    const webOnly = await ups.variants.web_push.search(appId).execute()
    expect(webOnly.map((v) => v.variantID)).toEqual([web.variantID])

    const found = await ups.applications.search().withApplicationID(appId).execute()
    expect(found.total).toBe(1)
    expect(found.list[0]?.name).toBe('integration')
    expect(found.list[0]?.metadata?.deviceCount).toBe(0)
    expect(found.list[0]?.masterSecret).not.toBe(app.masterSecret)

    const renewed = await ups.variants.web_push
      .renewSecret(appId, web.variantID as string)
      .execute()
    expect(renewed.secret).toHaveLength(43)
    expect(renewed.secret).not.toBe(web.secret)

    const reset = await ups.applications.renewSecret(appId).execute()
    expect(reset.masterSecret).toHaveLength(43)
    expect(reset.masterSecret).not.toBe(app.masterSecret)

    await ups.applications.update(appId).withName('renamed').execute()
    const renamed = await ups.applications.search().withApplicationID(appId).execute()
    expect(renamed.list[0]?.name).toBe('renamed')

    const deletedVariants = await ups.variants
      .delete(appId)
      .withVariantID(web.variantID as string)
      .execute()
    expect(deletedVariants.map((v) => v.variantID)).toEqual([web.variantID])
    expect((await ups.variants.search(appId).execute()).map((v) => v.variantID)).toEqual([
      ios.variantID,
    ])

    const deletedApps = await ups.applications.delete().withApplicationID(appId).execute()
    expect(deletedApps.map((a) => a.pushApplicationID)).toEqual([appId])
    const gone = await fetch(`${worker.url}/rest/applications/${appId}`, {
      headers: { authorization: `Bearer ${worker.adminToken}` },
    })
    expect(gone.status).toBe(404)
  })

  it('pages through every application the way the client does', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `paged-${i}`)
    for (const name of names) await ups.applications.create(name).execute()
    // With no filter the client asks for pages of 200 and stops at an empty page.
    const everything = await ups.applications.search().page(-1).execute()
    const seen = everything.list.map((a) => a.name).filter((n) => n?.startsWith('paged-'))
    expect(seen.sort()).toEqual([...names].sort())
  })

  it('gets a clear 400 naming serviceAccount for the legacy FCM fields it sends', async () => {
    const app = await ups.applications.create('legacy-android').execute()
    const attempt = ups.variants.android
      .create(app.pushApplicationID as string)
      .withName('android')
      .withGoogleKey('AAAA-legacy-server-key')
      .withProjectNumber('123456789012')
      .execute()
    const error = await attempt.then(
      () => null,
      (e: { message: string; details: () => Record<string, string> }) => e,
    )
    expect(error?.message).toContain('serviceAccount')
    // The client exposes the answer's `details` through a function.
    expect(error?.details()).toMatchObject({ serviceAccount: expect.any(String) })
    const variants = await ups.variants.search(app.pushApplicationID as string).execute()
    expect(variants).toEqual([])
  })
})
