/**
 * The UI's static files, served by the Worker from text modules (wrangler.toml `[[rules]]`):
 * the client script and stylesheet of src/ui/assets/, and uPlot (npm `uplot`, MIT), the chart
 * library, about 50 kB minified. Each is served with an ETag of its content, so a browser keeps
 * it and only asks whether it changed.
 */
import type { Context } from 'hono'
import uplotJs from 'uplot/dist/uPlot.iife.min.js'
import uplotCss from 'uplot/dist/uPlot.min.css'
import pushgateCss from './assets/pushgate.css'
import pushgateJs from './assets/pushgate.js'

export const ASSET_PATHS = {
  js: '/ui/assets/pushgate.js',
  css: '/ui/assets/pushgate.css',
  chartJs: '/ui/assets/uplot.js',
  chartCss: '/ui/assets/uplot.css',
} as const

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

type Asset = { body: string; type: string; etag: string }

/** FNV-1a over the text: a cheap, stable validator for content that only changes on deploy. */
function etagOf(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return `"${(hash >>> 0).toString(16)}-${text.length.toString(16)}"`
}

const asset = (body: string, type: string): Asset => ({ body, type, etag: etagOf(body) })

const ASSETS: Record<string, Asset> = {
  'pushgate.js': asset(pushgateJs, JS),
  'pushgate.css': asset(pushgateCss, CSS),
  'uplot.js': asset(uplotJs, JS),
  'uplot.css': asset(uplotCss, CSS),
}

export function serveAsset(c: Context) {
  const name = c.req.param('name') ?? ''
  const found = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined
  if (!found) return c.text('Not found', 404)
  c.header('ETag', found.etag)
  c.header('Cache-Control', 'no-cache')
  if (c.req.header('If-None-Match') === found.etag) return c.body(null, 304)
  c.header('Content-Type', found.type)
  return c.body(found.body)
}
