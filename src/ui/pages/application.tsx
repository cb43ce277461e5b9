/**
 * What every page of one application shares: loading it (with device counts) through the API,
 * the tab bar (Variants, Installations, Sender, Activity; links, so each tab is a page with
 * its own address), the "Send a message" button and the send dialog.
 */
import type { Child } from 'hono/jsx'
import { getApi, type UiContext } from '../api'
import type { Flash } from '../flash'
import { render } from '../render'
import { Application, headerCount } from '../shapes'
import { SendDialog } from './send'

export type Tab = 'variants' | 'installations' | 'sender' | 'activity' | 'guide' | 'send'

export type LoadedApp = {
  app: Application
  /** Installations per variantID. */
  devices: Map<string, number>
  base: string
}

export async function loadApp(c: UiContext): Promise<LoadedApp> {
  const id = c.req.param('pushAppID') ?? ''
  const path = `/rest/applications/${encodeURIComponent(id)}?includeDeviceCount=true`
  const { body, headers } = await getApi(c, path, Application)
  const devices = new Map(
    body.variants.map((v) => [
      v.variantID,
      headerCount(headers, `deviceCount_variant_${v.variantID}`),
    ]),
  )
  return {
    app: body,
    devices,
    base: `/ui/applications/${encodeURIComponent(body.pushApplicationID)}`,
  }
}

const TABS: [Tab, string, string][] = [
  ['variants', '', 'Variants'],
  ['installations', '/installations', 'Installations'],
  ['sender', '/sender', 'Sender'],
  ['activity', '/activity', 'Activity'],
]

function Tabs(props: { base: string; tab: Tab }) {
  return (
    <nav class="tabs" aria-label="Application">
      {TABS.map(([tab, suffix, label]) => (
        <a
          href={`${props.base}${suffix}`}
          id={`tab-${tab}`}
          aria-current={props.tab === tab ? 'page' : undefined}
        >
          {label}
        </a>
      ))}
    </nav>
  )
}

export async function renderApp(
  c: UiContext,
  loaded: LoadedApp,
  tab: Tab,
  body: Child,
  options: { title?: string; flash?: Flash | null } = {},
) {
  const { app, base } = loaded
  const head = (
    <>
      <div class="app-head">
        <p class="muted">
          pushApplicationID <code id="app-push-id">{app.pushApplicationID}</code>
        </p>
        {tab === 'send' ? null : (
          <a href={`${base}/send`} class="button" id="open-send" data-dialog="send-dialog">
            Send a message
          </a>
        )}
      </div>
      {tab === 'guide' || tab === 'send' ? null : <Tabs base={base} tab={tab} />}
    </>
  )
  return render(
    c,
    {
      title: options.title ?? app.name,
      section: 'applications',
      crumbs: <a href="/ui/applications">Applications</a>,
      ...('flash' in options && { flash: options.flash }),
    },
    <>
      {head}
      {body}
      {tab === 'send' ? null : <SendDialog app={app} />}
    </>,
  )
}
