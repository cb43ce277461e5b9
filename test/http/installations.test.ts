/**
 * Installations as operators see them (API.md "Installations"): the admin list with paging and
 * search, read, edit and delete by id, and the streamed export. Devices are registered through
 * the registry and importer; every test makes its own variants, since D1 state lasts one file.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { basic, call } from '../helpers'
import {
  answerText,
  type CreatedVariant,
  createApp,
  createVariant,
  fcmToken,
  hex,
  importFile,
  register,
  type StoredInstallation,
  storedInstallations,
  type VariantType,
} from './fixtures'

type Installation = {
  id: string
  deviceToken: string
  alias: string | null
  deviceType: string | null
  operatingSystem: string | null
  osVersion: string | null
  platform: string | null
  enabled: boolean
  categories: { name: string }[]
}

async function freshVariant(type: VariantType = 'ios_token'): Promise<CreatedVariant> {
  const app = await createApp()
  return createVariant(app.pushApplicationID, type)
}

function iosToken(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)))
}

/** Registers `count` iOS devices through the importer; aliases are `${prefix}-${i}`. */
async function seed(variant: CreatedVariant, count: number, prefix = 'device') {
  for (let start = 0; start < count; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      deviceToken: iosToken(),
      alias: `${prefix}-${start + i}`,
      categories: [`bucket-${(start + i) % 3}`],
    }))
    const res = await importFile(variant, rows)
    expect(res.status, await answerText(res)).toBe(200)
    expect(await res.json()).toMatchObject({ imported: rows.length, rejected: 0 })
  }
  return storedInstallations(variant.variantID)
}

/** The installation JSON an operator should see for a stored row. */
function presented(row: StoredInstallation | undefined): Installation {
  if (!row) throw new Error('no stored row to present')
  return {
    id: row.id,
    deviceToken: row.device_token,
    alias: row.alias,
    deviceType: row.device_type,
    operatingSystem: row.operating_system,
    osVersion: row.os_version,
    platform: row.platform,
    enabled: row.enabled === 1,
    categories: row.categories.map((name) => ({ name })),
  }
}

const listPath = (variantID: string, query = '') =>
  `/rest/applications/${variantID}/installations${query}`

type PageLink = { page: number; perPage: number; search: string | null; path: string }

/** Parses an RFC 8288 Link header into its relations. */
function parseLinks(header: string | null): Record<string, PageLink> {
  const links: Record<string, PageLink> = {}
  for (const part of (header ?? '').split(',')) {
    const match = /^\s*<([^>]+)>\s*;\s*rel="([^"]+)"\s*$/.exec(part)
    if (!match?.[1] || !match[2]) throw new Error(`not a link: ${part}`)
    const url = new URL(match[1], 'https://pushgate.test')
    links[match[2]] = {
      page: Number(url.searchParams.get('page')),
      perPage: Number(url.searchParams.get('per_page')),
      search: url.searchParams.get('search'),
      path: `${url.pathname}${url.search}`,
    }
  }
  return links
}

describe('GET /rest/applications/{variantID}/installations', () => {
  it('pages through the variant with total and first/prev/next/last links', async () => {
    const variant = await freshVariant()
    const stored = await seed(variant, 7)
    const other = await freshVariant()
    await seed(other, 2)

    const pages: Installation[][] = []
    for (const page of [0, 1, 2]) {
      const res = await call('GET', listPath(variant.variantID, `?page=${page}&per_page=3`))
      expect(res.status, await answerText(res)).toBe(200)
      expect(res.headers.get('total')).toBe('7')
      const links = parseLinks(res.headers.get('Link'))
      const rel = (name: string) => links[name] && [links[name].page, links[name].perPage]
      expect(rel('first')).toEqual([0, 3])
      expect(rel('last')).toEqual([2, 3])
      expect(rel('prev')).toEqual(page > 0 ? [page - 1, 3] : undefined)
      expect(rel('next')).toEqual(page < 2 ? [page + 1, 3] : undefined)
      expect(links.first?.path.startsWith(listPath(variant.variantID))).toBe(true)
      pages.push(await res.json())
    }

    expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
    expect(pages.flat()).toEqual(stored.map(presented))
  })

  it('follows its own next links to the end', async () => {
    const variant = await freshVariant()
    const stored = await seed(variant, 5)

    const seen: string[] = []
    let path: string | undefined = listPath(variant.variantID, '?per_page=2')
    for (let hops = 0; path && hops < 10; hops++) {
      const res = await call('GET', path)
      expect(res.status, await answerText(res)).toBe(200)
      seen.push(...(await res.json<Installation[]>()).map((i) => i.id))
      path = parseLinks(res.headers.get('Link')).next?.path
    }

    expect(seen).toEqual(stored.map((r) => r.id))
  })

  it('clamps per_page to 50 and defaults to 25', async () => {
    const variant = await freshVariant()
    const stored = await seed(variant, 60)

    const clamped = await call('GET', listPath(variant.variantID, '?per_page=500'))
    const byDefault = await call('GET', listPath(variant.variantID))

    expect(clamped.status, await answerText(clamped)).toBe(200)
    expect(clamped.headers.get('total')).toBe('60')
    expect(await clamped.json()).toEqual(stored.slice(0, 50).map(presented))
    const links = parseLinks(clamped.headers.get('Link'))
    expect([links.next?.page, links.next?.perPage, links.last?.page]).toEqual([1, 50, 1])
    expect(byDefault.status, await answerText(byDefault)).toBe(200)
    expect(await byDefault.json()).toEqual(stored.slice(0, 25).map(presented))
    expect(parseLinks(byDefault.headers.get('Link')).last?.page).toBe(2)
  })

  it('answers an empty variant and a page past the end with an empty array', async () => {
    const variant = await freshVariant()
    const empty = await call('GET', listPath(variant.variantID))
    expect(empty.status, await answerText(empty)).toBe(200)
    expect(empty.headers.get('total')).toBe('0')
    expect(await empty.json()).toEqual([])
    expect(Object.keys(parseLinks(empty.headers.get('Link'))).sort()).toEqual(['first', 'last'])

    await seed(variant, 3)
    const past = await call('GET', listPath(variant.variantID, '?page=5&per_page=2'))
    expect(past.status, await answerText(past)).toBe(200)
    expect(past.headers.get('total')).toBe('3')
    expect(await past.json()).toEqual([])
    expect(parseLinks(past.headers.get('Link')).prev?.page).toBe(1)
  })

  it('refuses paging values that are not numbers with 400', async () => {
    const variant = await freshVariant()

    for (const query of ['?page=-1', '?per_page=0', '?page=abc']) {
      const res = await call('GET', listPath(variant.variantID, query))
      expect(res.status, `${query}: ${await answerText(res)}`).toBe(400)
      expect(await res.json()).toMatchObject({ details: expect.any(Object) })
    }
  })

  it('searches token, alias and deviceType without regard to case', async () => {
    const app = await createApp()
    const variant = await createVariant(app.pushApplicationID, 'ios_token')
    const sibling = await createVariant(app.pushApplicationID, 'ios_token')
    const tokens = { alice: iosToken(), ipad: iosToken(), plain: iosToken() }
    const bodies = [
      { deviceToken: tokens.alice, alias: 'Alice.Smith@Example.com', deviceType: 'iPhone' },
      { deviceToken: tokens.ipad, alias: 'bob@example.com', deviceType: 'iPad' },
      { deviceToken: tokens.plain, alias: null, deviceType: null },
    ]
    for (const body of bodies) {
      const res = await register(variant, body)
      expect(res.status, await answerText(res)).toBe(200)
    }
    const decoy = await register(sibling, {
      deviceToken: iosToken(),
      alias: 'alice.smith@example.com',
      deviceType: 'IPAD',
    })
    expect(decoy.status, await answerText(decoy)).toBe(200)

    const search = async (needle: string) => {
      const query = `?search=${encodeURIComponent(needle)}&per_page=1`
      const res = await call('GET', listPath(variant.variantID, query))
      expect(res.status, await answerText(res)).toBe(200)
      const items = await res.json<Installation[]>()
      const links = parseLinks(res.headers.get('Link'))
      return { total: res.headers.get('total'), tokens: items.map((i) => i.deviceToken), links }
    }

    expect(await search('ALICE.smith')).toMatchObject({ total: '1', tokens: [tokens.alice] })
    expect(await search('ipad')).toMatchObject({ total: '1', tokens: [tokens.ipad] })
    const byToken = await search(tokens.plain.slice(10, 30).toUpperCase())
    expect(byToken).toMatchObject({ total: '1', tokens: [tokens.plain] })
    const both = await search('EXAMPLE.COM')
    expect(both.total).toBe('2')
    expect(both.links.next?.search).toBe('EXAMPLE.COM')
    expect(await search('nobody')).toMatchObject({ total: '0', tokens: [] })
  })

  it('takes a search text with LIKE wildcards literally', async () => {
    const variant = await freshVariant()
    for (const alias of ['50%_off', '50 off']) {
      const res = await register(variant, { deviceToken: iosToken(), alias })
      expect(res.status, await answerText(res)).toBe(200)
    }

    const res = await call(
      'GET',
      listPath(variant.variantID, `?search=${encodeURIComponent('%_')}`),
    )

    expect(res.status, await answerText(res)).toBe(200)
    expect((await res.json<Installation[]>()).map((i) => i.alias)).toEqual(['50%_off'])
  })
})

describe('GET /rest/applications/{variantID}/installations/{id}', () => {
  it('answers the installation, or 404 for an unknown id or an id of another variant', async () => {
    const variant = await freshVariant()
    const other = await freshVariant()
    const res = await register(variant, {
      deviceToken: iosToken(),
      alias: 'one',
      deviceType: 'iPhone',
      operatingSystem: 'iOS',
      osVersion: '18.1',
      categories: ['b', 'a'],
      enabled: false,
    })
    expect(res.status, await answerText(res)).toBe(200)
    const [row] = await storedInstallations(variant.variantID)

    const found = await call('GET', listPath(variant.variantID, `/${row?.id}`))
    const unknown = await call('GET', listPath(variant.variantID, `/${crypto.randomUUID()}`))
    const foreign = await call('GET', listPath(other.variantID, `/${row?.id}`))

    expect(found.status, await answerText(found)).toBe(200)
    expect(found.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(await found.json()).toEqual(presented(row))
    expect(presented(row).categories).toEqual([{ name: 'a' }, { name: 'b' }])
    for (const missing of [unknown, foreign]) {
      expect(missing.status, await answerText(missing)).toBe(404)
      expect(await missing.json()).toEqual({ message: expect.any(String) })
    }
  })
})

describe('PUT /rest/applications/{variantID}/installations/{id}', () => {
  async function oneDevice(type: VariantType = 'ios_token') {
    const variant = await freshVariant(type)
    const token = type === 'android' ? fcmToken() : iosToken()
    const res = await register(variant, {
      deviceToken: token,
      alias: 'before',
      deviceType: 'phone',
      categories: ['old'],
    })
    expect(res.status, await answerText(res)).toBe(200)
    const [row] = await storedInstallations(variant.variantID)
    if (!row) throw new Error('registration stored no row')
    return { variant, row, path: listPath(variant.variantID, `/${row.id}`) }
  }

  it('changes alias, enabled and categories, keeping what is not given', async () => {
    const { variant, row, path } = await oneDevice()

    const res = await call('PUT', path, {
      body: { alias: 'after', enabled: false, categories: ['news', { name: 'sport' }] },
    })

    expect(res.status, await answerText(res)).toBe(204)
    expect(await res.text()).toBe('')
    const [after] = await storedInstallations(variant.variantID)
    expect(after).toMatchObject({
      id: row.id,
      device_token: row.device_token,
      alias: 'after',
      device_type: 'phone',
      enabled: 0,
      categories: ['news', 'sport'],
    })
    const read = await call('GET', path)
    expect(await read.json()).toEqual(presented(after))
  })

  it('takes back the installation as GET gave it, and clears fields set to null', async () => {
    const { variant, row, path } = await oneDevice()
    const read = await call('GET', path)
    const body = await read.json<Installation>()

    const same = await call('PUT', path, { body })
    const cleared = await call('PUT', path, { body: { alias: null, categories: [] } })

    expect(same.status, await answerText(same)).toBe(204)
    expect(cleared.status, await answerText(cleared)).toBe(204)
    const [after] = await storedInstallations(variant.variantID)
    expect(after).toMatchObject({ id: row.id, alias: null, device_type: 'phone', categories: [] })
  })

  it('refuses to change the device token or the id, and unknown fields, with 400', async () => {
    const { variant, row, path } = await oneDevice()

    const refusals = [
      [{ deviceToken: iosToken(), alias: 'changed' }, 'deviceToken'],
      [{ id: crypto.randomUUID(), alias: 'changed' }, 'id'],
      [{ alias: 'changed', colour: 'red' }, 'colour'],
      [{ alias: 'changed', enabled: 'no' }, 'enabled'],
      [{ alias: 'changed', categories: 'news' }, 'categories'],
    ] as const
    for (const [body, field] of refusals) {
      const res = await call('PUT', path, { body })
      expect(res.status, await answerText(res)).toBe(400)
      const answer = await res.json<{ details: Record<string, string> }>()
      expect(Object.keys(answer.details)).toEqual([field])
    }

    expect(await storedInstallations(variant.variantID)).toEqual([row])
  })

  it('is not a registration: the time the device last registered stays', async () => {
    const { variant, row, path } = await oneDevice('android')
    // Pretend the device registered long ago, so that a moved clock cannot go unnoticed.
    await env.DB.prepare('UPDATE installations SET updated_at = 1000 WHERE id = ?')
      .bind(row.id)
      .run()

    const res = await call('PUT', path, { body: { alias: 'operator edit' } })

    expect(res.status, await answerText(res)).toBe(204)
    const [after] = await storedInstallations(variant.variantID)
    expect(after).toMatchObject({ alias: 'operator edit', updated_at: 1000 })
  })

  it('answers 404 for an unknown installation and writes nothing', async () => {
    const { variant, row } = await oneDevice()

    const res = await call('PUT', listPath(variant.variantID, `/${crypto.randomUUID()}`), {
      body: { alias: 'ghost' },
    })

    expect(res.status, await answerText(res)).toBe(404)
    expect(await storedInstallations(variant.variantID)).toEqual([row])
  })
})

describe('DELETE /rest/applications/{variantID}/installations/{id}', () => {
  it('answers 204 and removes the row and its links, then 404', async () => {
    const variant = await freshVariant()
    const [gone, kept] = await seed(variant, 2)
    const path = listPath(variant.variantID, `/${gone?.id}`)

    const first = await call('DELETE', path)
    const second = await call('DELETE', path)
    const read = await call('GET', path)

    expect(first.status, await answerText(first)).toBe(204)
    expect(await first.text()).toBe('')
    expect(second.status, await answerText(second)).toBe(404)
    expect(read.status, await answerText(read)).toBe(404)
    expect(await storedInstallations(variant.variantID)).toEqual([kept])
    const links = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM installation_categories WHERE installation_id = ?',
    )
      .bind(gone?.id ?? '')
      .first<{ n: number }>()
    expect(links?.n).toBe(0)
  })

  it('answers 404 for an installation of another variant and leaves it', async () => {
    const variant = await freshVariant()
    const other = await freshVariant()
    const [row] = await seed(other, 1)

    const res = await call('DELETE', listPath(variant.variantID, `/${row?.id}`))

    expect(res.status, await answerText(res)).toBe(404)
    expect(await storedInstallations(other.variantID)).toEqual([row])
  })
})

describe('admin installation routes: variant and credentials', () => {
  it('answers 404 for an unknown variant on every route', async () => {
    const unknown = crypto.randomUUID()
    const id = crypto.randomUUID()
    const attempts = [
      call('GET', listPath(unknown)),
      call('GET', listPath(unknown, `/${id}`)),
      call('PUT', listPath(unknown, `/${id}`), { body: { alias: 'x' } }),
      call('DELETE', listPath(unknown, `/${id}`)),
      call('GET', `/rest/export/${unknown}/installations/`),
    ]

    for (const res of await Promise.all(attempts)) {
      expect(res.status, await answerText(res)).toBe(404)
      expect(await res.json()).toEqual({ message: expect.any(String) })
    }
  })

  it('answers 401 without the admin bearer, even with the variant credentials', async () => {
    const variant = await freshVariant()
    const [row] = await seed(variant, 1)
    const device = basic(variant.variantID, variant.secret)
    const attempts = [
      ['GET', listPath(variant.variantID), null],
      ['GET', listPath(variant.variantID), 'Bearer wrong-token'],
      ['GET', listPath(variant.variantID), device],
      ['GET', listPath(variant.variantID, `/${row?.id}`), null],
      ['PUT', listPath(variant.variantID, `/${row?.id}`), device],
      ['DELETE', listPath(variant.variantID, `/${row?.id}`), null],
      ['GET', `/rest/export/${variant.variantID}/installations/`, null],
      ['GET', `/rest/export/${variant.variantID}/installations/`, device],
    ] as const

    for (const [method, path, auth] of attempts) {
      const body = method === 'PUT' ? { alias: 'intruder' } : undefined
      const res = await call(method, path, { auth, body })
      expect(res.status, `${method} ${path}: ${await answerText(res)}`).toBe(401)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
      expect(await res.json()).toEqual({ message: 'Unauthorized Request' })
    }
    expect(await storedInstallations(variant.variantID)).toEqual([row])
  })
})

describe('GET /rest/export/{variantID}/installations/', () => {
  it('streams every installation of the variant, over several pages, as one JSON array', async () => {
    const variant = await freshVariant()
    const stored = await seed(variant, 1234)
    const other = await freshVariant()
    await seed(other, 3)

    const res = await call('GET', `/rest/export/${variant.variantID}/installations/`)

    expect(res.status, await answerText(res)).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(res.headers.get('Content-Disposition')).toContain(variant.variantID)
    const exported = await res.json<Installation[]>()
    expect(exported).toHaveLength(1234)
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1)
    expect([...exported].sort(byId)).toEqual(stored.map(presented).sort(byId))
  })

  it.each([0, 1, 500, 501])('exports exactly %i installations', async (count) => {
    const variant = await freshVariant()
    const stored = count > 0 ? await seed(variant, count) : []

    const res = await call('GET', `/rest/export/${variant.variantID}/installations`)

    expect(res.status, await answerText(res)).toBe(200)
    const exported = await res.json<Installation[]>()
    expect(new Set(exported.map((i) => i.id))).toEqual(new Set(stored.map((r) => r.id)))
    expect(exported).toHaveLength(count)
  })
})
