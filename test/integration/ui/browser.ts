/// <reference types="node" />
// Debian's Chromium, driven by playwright-core, for the admin UI's browser tests. Playwright
// cannot download a browser here, so the tests use the system's: /usr/bin/chromium (`.ci/run`
// installs it with apt-get) or whatever CHROMIUM_PATH names. A missing browser fails the tests
// with the command that installs it: a browser test that skips itself would pass on a machine
// that never ran it.
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const DEFAULT_CHROMIUM = '/usr/bin/chromium'

// The sandbox's network is closed: without the background-networking flags Chromium keeps
// trying to reach Google's hosts. --no-sandbox because CI runs as root, where Chromium's own
// sandbox refuses to start. Playwright adds --headless and a fresh temporary --user-data-dir of
// its own, which it deletes when the browser closes.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The Chromium binary to drive; throws a sentence saying how to install it when it is absent. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.CHROMIUM_PATH || DEFAULT_CHROMIUM
  if (existsSync(path)) return path
  const named = env.CHROMIUM_PATH ? `CHROMIUM_PATH (${path})` : path
  throw new Error(
    `The admin UI's browser tests need Chromium, and ${named} does not exist. On Debian, as ` +
      'root: apt-get update && apt-get install -y --no-install-recommends chromium. Elsewhere, ' +
      'set CHROMIUM_PATH to a Chromium or Chrome binary.',
  )
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: FLAGS })
}
