/**
 * The page shell: head (stylesheet, deferred scripts, the CSRF token for the client script),
 * the header with navigation and sign-out, the one-time flash, and the main region.
 */
import type { Child, PropsWithChildren } from 'hono/jsx'
import { ASSET_PATHS } from './assets'
import { CsrfField, Problem, RequestInfo } from './components'
import type { Flash } from './flash'

export type Section = 'dashboard' | 'applications' | 'none'

type PageProps = PropsWithChildren<{
  title: string
  section: Section
  csrf: string
  origin: string
  /** This page's path and query: where its forms come back to after a failure. */
  back: string
  flash?: Flash | null
  /** Loads the chart library before the client script. */
  chart?: boolean
  /** Shown above the heading: where this page sits. */
  crumbs?: Child
}>

function Nav(props: { section: Section }) {
  const link = (section: Section, href: string, text: string) => (
    <a href={href} aria-current={props.section === section ? 'page' : undefined}>
      {text}
    </a>
  )
  return (
    <header class="top">
      <a class="brand" href="/ui/">
        Pushgate
      </a>
      <nav aria-label="Main">
        {link('dashboard', '/ui/', 'Dashboard')}
        {link('applications', '/ui/applications', 'Applications')}
      </nav>
      <form method="post" action="/ui/signout" class="signout">
        <CsrfField />
        <button type="submit" id="signout">
          Sign out
        </button>
      </form>
    </header>
  )
}

export function FlashMessages(props: { flash?: Flash | null | undefined }) {
  const flash = props.flash
  return (
    <div class="flash" id="flash">
      {flash?.notice ? (
        <p class="notice" role="status" id="flash-notice">
          {flash.notice}
        </p>
      ) : null}
      {flash?.error ? (
        <Problem
          id="flash-error"
          problem={{ message: flash.error, ...(flash.details && { details: flash.details }) }}
        />
      ) : null}
    </div>
  )
}

export function Page(props: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={props.csrf} />
        <title>{`${props.title} · Pushgate`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={ASSET_PATHS.css} />
        {props.chart ? <link rel="stylesheet" href={ASSET_PATHS.chartCss} /> : null}
        {props.chart ? <script src={ASSET_PATHS.chartJs} defer /> : null}
        <script src={ASSET_PATHS.js} defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <RequestInfo.Provider value={{ csrf: props.csrf, origin: props.origin, back: props.back }}>
          <Nav section={props.section} />
          <main id="main" tabindex={-1}>
            {props.crumbs ? <p class="crumbs">{props.crumbs}</p> : null}
            <h1>{props.title}</h1>
            <FlashMessages flash={props.flash} />
            {props.children}
          </main>
          <div id="live" class="visually-hidden" aria-live="polite" />
        </RequestInfo.Provider>
      </body>
    </html>
  )
}

/** The shell of pages without a session: sign-in and errors met before signing in. */
export function BarePage(props: PropsWithChildren<{ title: string }>) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Pushgate`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={ASSET_PATHS.css} />
      </head>
      <body class="bare">
        <main id="main">
          <p class="brand">Pushgate</p>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  )
}
