/// <reference types="node" />
// Keeps what a browser test saw: a screenshot and the DOM (`page.content()`) of every page it
// visits, and the body of every answer the Worker gave the browser (pages, scripts, the JSON of
// the client script's fetches). The screenshots are the test's artefacts; the texts let a test
// assert that something (a private key, the admin token) never reached the browser at all.
import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type { BrowserContext, Page, Response } from 'playwright-core'

export type Seen = { what: string; text: string; missed?: string }

export interface Visits {
  /** Screenshots the page as `NN-name.png` and keeps its DOM; returns the DOM. */
  snap(page: Page, name: string): Promise<string>
  /** Every DOM snapped and every answer body received so far. */
  seen(): Promise<Seen[]>
}

// Answers whose bodies say nothing: redirects have none, and images are not text.
const TEXT_TYPES = /^(text\/|application\/(json|javascript))/

/** Records `context`'s traffic to `origin`; screenshots go to `dir`, emptied first. */
export async function recordVisits(
  context: BrowserContext,
  origin: string,
  dir: string,
): Promise<Visits> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const doms: Seen[] = []
  const bodies: Promise<Seen | null>[] = []
  let count = 0

  context.on('response', (res) => {
    if (new URL(res.url()).origin === origin) bodies.push(bodyOf(res))
  })

  return {
    async snap(page, name) {
      await page.waitForLoadState('load')
      count += 1
      const file = `${String(count).padStart(2, '0')}-${name}.png`
      await page.screenshot({ path: path.join(dir, file), fullPage: true })
      const text = await page.content()
      doms.push({ what: `DOM of ${name} (${page.url()})`, text })
      return text
    },
    async seen() {
      const answers = (await Promise.all(bodies)).filter((seen) => seen !== null)
      return [...doms, ...answers]
    },
  }
}

async function bodyOf(res: Response): Promise<Seen | null> {
  const type = res.headers()['content-type'] ?? ''
  if (res.status() >= 300 && res.status() < 400) return null
  if (!TEXT_TYPES.test(type)) return null
  try {
    return { what: `answer to ${res.request().method()} ${res.url()}`, text: await res.text() }
  } catch (error) {
    // Chromium drops a body once its page has navigated on; what was dropped is said, so that
    // a test can tell how much it saw.
    return {
      what: `answer to ${res.request().method()} ${res.url()}`,
      text: '',
      missed: String(error),
    }
  }
}
