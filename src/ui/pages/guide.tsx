/**
 * The first-run guide of a new application, where creating one lands: keep the master secret
 * (shown this once), add a variant, paste its client configuration into the app, send a test
 * message, and wire the backend with a sender snippet.
 */
import type { UiContext } from '../api'
import { Snippet, TYPE_NAMES, useRequestInfo } from '../components'
import { takeFlash } from '../flash'
import type { Variant } from '../shapes'
import { registerCurl } from '../snippets'
import { loadApp, renderApp } from './application'
import { SendForm } from './send'
import { MasterSecret, SenderSnippets } from './sender'
import { AddVariantForm, ClientConfig } from './variants'

function RegisterSnippet(props: { variant: Variant }) {
  const text = registerCurl(useRequestInfo().origin, props.variant)
  return (
    <Snippet
      id={`register-${props.variant.variantID}`}
      title="Register a device by hand (curl)"
      text={text}
    />
  )
}

export async function guide(c: UiContext) {
  const flash = await takeFlash(c, c.var.session)
  const loaded = await loadApp(c)
  const { app, base } = loaded
  const hasVariants = app.variants.length > 0
  return renderApp(
    c,
    loaded,
    'guide',
    <ol class="steps" id="guide">
      <li>
        <h2>Keep the master secret</h2>
        <p>Your backend sends with the pushApplicationID and this secret.</p>
        <MasterSecret pushApplicationID={app.pushApplicationID} flash={flash} />
      </li>
      <li>
        <h2>Add a variant for each push network</h2>
        {hasVariants ? (
          <ul>
            {app.variants.map((v) => (
              <li>
                {v.name} ({TYPE_NAMES[v.type]}), variantID <code>{v.variantID}</code>
              </li>
            ))}
          </ul>
        ) : null}
        {(['web_push', 'android', 'ios_token'] as const).map((type) => (
          <AddVariantForm
            app={app}
            type={type}
            next={`${base}/guide`}
            open={!hasVariants && type === 'web_push'}
          />
        ))}
      </li>
      <li>
        <h2>Put the client configuration into your app</h2>
        {hasVariants ? (
          app.variants.map((v) => (
            <section aria-label={`Configuration of ${v.name}`}>
              <h3>{v.name}</h3>
              <ClientConfig variant={v} />
              <RegisterSnippet variant={v} />
            </section>
          ))
        ) : (
          <p>Add a variant first: its configuration appears here.</p>
        )}
      </li>
      <li>
        <h2>Send a test message</h2>
        {hasVariants ? (
          <SendForm app={app} idPrefix="guide-send" />
        ) : (
          <p>Once a variant has a registered device, send it a message from here.</p>
        )}
      </li>
      <li>
        <h2>Send from your backend</h2>
        <SenderSnippets pushApplicationID={app.pushApplicationID} />
        <p>
          <a href={base} id="guide-done">
            Done: go to the application
          </a>
        </p>
      </li>
    </ol>,
    { title: `Get started with ${app.name}`, flash },
  )
}

export async function sendPage(c: UiContext) {
  const loaded = await loadApp(c)
  return renderApp(c, loaded, 'send', <SendForm app={loaded.app} idPrefix="send" />, {
    title: `Send a message to ${loaded.app.name}`,
  })
}
