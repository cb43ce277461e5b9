/**
 * Rendering a page of a signed-in person: the shell with this session's CSRF token, the flash
 * the previous post left (read once, then cleared), and headers that keep the page out of
 * every cache, since pages show variant secrets.
 */
import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { UiContext } from './api'
import { type Flash, takeFlash } from './flash'
import { Page, type Section } from './layout'

export type PageOptions = {
  title: string
  section: Section
  chart?: boolean
  crumbs?: Child
  status?: ContentfulStatusCode
  /** The flash when the page took it itself (to show a one-time secret in place). */
  flash?: Flash | null
}

export function html(c: UiContext, page: string, status: ContentfulStatusCode = 200) {
  c.header('Cache-Control', 'no-store')
  return c.html(`<!DOCTYPE html>${page}`, status)
}

/** The path and query of this request: where a form on the page comes back to. */
export function here(c: UiContext): string {
  const url = new URL(c.req.url)
  return `${url.pathname}${url.search}`
}

export async function render(c: UiContext, options: PageOptions, body: Child) {
  const flash = 'flash' in options ? options.flash : await takeFlash(c, c.var.session)
  const origin = new URL(c.req.url).origin
  const page = (
    <Page
      title={options.title}
      section={options.section}
      csrf={c.var.csrf}
      origin={origin}
      back={here(c)}
      flash={flash}
      chart={options.chart}
      crumbs={options.crumbs}
    >
      {body}
    </Page>
  )
  return html(c, await page.toString(), options.status)
}
