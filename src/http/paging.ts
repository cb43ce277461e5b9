/**
 * `page` / `per_page` query parameters as UPS uses them (page counts from 0), and the headers
 * that describe a page: `total` and an RFC 8288 `Link` with first, prev, next and last.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { readQuery } from './input'

const flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true')

export function readPaging(c: Context, defaults: { perPage: number; maxPerPage: number }) {
  const query = readQuery(
    c,
    z.looseObject({
      page: z.coerce.number().int().min(0).max(1_000_000).default(0),
      // UPS clamps rather than refuses, and its clients ask for more than the maximum.
      per_page: z.coerce.number().int().min(1).default(defaults.perPage),
      search: z.string().max(256).optional(),
      includeDeviceCount: flag,
      includeActivity: flag,
    }),
  )
  const perPage = Math.min(query.per_page, defaults.maxPerPage)
  return { ...query, perPage, offset: query.page * perPage }
}

export function setPageHeaders(
  c: Context,
  paging: { page: number; perPage: number },
  total: number,
) {
  c.header('total', String(total))
  const last = Math.max(0, Math.ceil(total / paging.perPage) - 1)
  const link = (page: number, rel: string) => {
    const url = new URL(c.req.url)
    url.searchParams.set('page', String(page))
    url.searchParams.set('per_page', String(paging.perPage))
    return `<${url.pathname}${url.search}>; rel="${rel}"`
  }
  const links = [link(0, 'first')]
  if (paging.page > 0) links.push(link(Math.min(paging.page - 1, last), 'prev'))
  if (paging.page < last) links.push(link(paging.page + 1, 'next'))
  links.push(link(last, 'last'))
  c.header('Link', links.join(', '))
}
