/**
 * The Sender tab: what a backend needs to send to this application. The master secret is stored
 * only as a hash, so the page shows it once: right after the application was created or the
 * secret renewed, from the one-time flash; every other time it is masked. Renewal posts as a
 * plain form for that reason.
 */
import type { UiContext } from '../api'
import { ActionForm, Confirm, CopyValue, Snippet, useRequestInfo } from '../components'
import type { Flash } from '../flash'
import { takeFlash } from '../flash'
import { senderCurl, senderJava, senderNode } from '../snippets'
import { loadApp, renderApp } from './application'

/** The master secret: in full once (from the flash of the post that made it), else masked. */
export function MasterSecret(props: { pushApplicationID: string; flash: Flash | null }) {
  const secret =
    props.flash?.pushApplicationID === props.pushApplicationID
      ? props.flash.masterSecret
      : undefined
  if (secret) {
    return (
      <div class="once" id="master-secret-once">
        <p class="warning" role="status">
          This is the only time the master secret is shown. Copy it now into your backend's
          configuration; after this page it is masked, and renewing it is the only way to get a new
          one.
        </p>
        <CopyValue id="master-secret" value={secret} label="master secret" />
      </div>
    )
  }
  return (
    <p>
      <code id="master-secret" data-masked="true">
        ********
      </code>{' '}
      <span class="muted">Shown only when the application is created or the secret renewed.</span>
    </p>
  )
}

export function SenderSnippets(props: { pushApplicationID: string }) {
  const { origin } = useRequestInfo()
  const id = props.pushApplicationID
  return (
    <>
      <Snippet id="sender-curl" title="curl" text={senderCurl(origin, id)} />
      <Snippet
        id="sender-node"
        title="Node (unifiedpush-node-sender)"
        text={senderNode(origin, id)}
      />
      <Snippet
        id="sender-java"
        title="Java (unifiedpush-java-client)"
        text={senderJava(origin, id)}
      />
    </>
  )
}

export async function senderTab(c: UiContext) {
  const flash = await takeFlash(c, c.var.session)
  const loaded = await loadApp(c)
  const { app, base } = loaded
  const id = app.pushApplicationID
  return renderApp(
    c,
    loaded,
    'sender',
    <>
      <section aria-labelledby="sender-title" class="panel">
        <h2 id="sender-title">Sender credentials</h2>
        <p>
          Backends send with HTTP Basic authentication: the pushApplicationID as user, the master
          secret as password, to <code>POST /rest/sender</code>.
        </p>
        <dl class="facts">
          <dt>pushApplicationID</dt>
          <dd>
            <CopyValue id="sender-push-id" value={id} label="pushApplicationID" />
          </dd>
          <dt>Master secret</dt>
          <dd>
            <MasterSecret pushApplicationID={id} flash={flash} />
          </dd>
        </dl>
        <Confirm
          id="reset-master-secret"
          summary="Renew the master secret…"
          warning="The current master secret stops working at once: every backend that sends with it is refused until it has the new one."
        >
          <ActionForm
            method="PUT"
            path={`/rest/applications/${encodeURIComponent(id)}/reset`}
            next={`${base}/sender`}
            notice="Master secret renewed."
            native
            label="Renew the master secret"
          >
            <button type="submit" id="reset-master-secret-submit">
              Yes, renew the master secret
            </button>
          </ActionForm>
        </Confirm>
      </section>
      <section aria-labelledby="snippets-title">
        <h2 id="snippets-title">Send from your backend</h2>
        <SenderSnippets pushApplicationID={id} />
      </section>
    </>,
    { flash },
  )
}
