/**
 * The send dialog: a message (alert, title, sound, badge, priority), whom it reaches (variants,
 * aliases, categories) and its time to live. A `<dialog>` on the application's pages opened by
 * the client script, and the same form as a page of its own without JavaScript. It posts to
 * `/ui/applications/{pushAppID}/send` (see actions.ts), never with the master secret.
 */
import { CsrfField, Field, TextArea, TYPE_NAMES, useRequestInfo } from '../components'
import type { Application } from '../shapes'

export function SendForm(props: { app: Application; idPrefix: string }) {
  const { app } = props
  const id = (name: string) => `${props.idPrefix}-${name}`
  const pushAppId = encodeURIComponent(app.pushApplicationID)
  return (
    <form
      method="post"
      action={`/ui/applications/${pushAppId}/send`}
      class="send-form"
      id={id('form')}
      data-api=""
      aria-label="Send a message"
    >
      <CsrfField />
      <input
        type="hidden"
        name="_next"
        value={`/ui/applications/${pushAppId}/activity?sent={id}`}
      />
      <input type="hidden" name="_back" value={useRequestInfo().back} />
      <input type="hidden" name="_idempotency" value={crypto.randomUUID()} />
      <TextArea
        id={id('alert')}
        name="message.alert"
        label="Alert"
        hint="The text of the notification."
        rows={2}
        required
      />
      <Field id={id('title')} name="message.apns.title" label="Title (optional)" />
      <div class="row">
        <Field id={id('sound')} name="message.sound" label="Sound" placeholder="default" />
        <Field
          id={id('badge')}
          name="message.badge:number"
          label="Badge"
          type="number"
          min={0}
          inputmode="numeric"
        />
        <div class="field">
          <label for={id('priority')}>Priority</label>
          <select id={id('priority')} name="message.priority">
            <option value="">Network default</option>
            <option value="normal">Normal</option>
            <option value="high">High</option>
          </select>
        </div>
      </div>
      <fieldset>
        <legend>Variants (none ticked: all)</legend>
        {app.variants.length === 0 ? <p>This application has no variant yet.</p> : null}
        {app.variants.map((v) => (
          <div class="check">
            <input
              type="checkbox"
              id={id(`variant-${v.variantID}`)}
              name="criteria.variants:list"
              value={v.variantID}
            />
            <label for={id(`variant-${v.variantID}`)}>
              {v.name} ({TYPE_NAMES[v.type]})
            </label>
          </div>
        ))}
      </fieldset>
      <Field
        id={id('aliases')}
        name="criteria.alias:list"
        label="Aliases (optional)"
        hint="Only devices registered with one of these aliases; separate them with commas."
      />
      <Field
        id={id('categories')}
        name="criteria.categories:list"
        label="Categories (optional)"
        hint="Only devices registered with one of these categories; separate them with commas."
      />
      <Field
        id={id('ttl')}
        name="config.ttl:number"
        label="Time to live, in seconds (optional)"
        hint="0 means now or never; empty leaves each network's default."
        type="number"
        min={0}
        inputmode="numeric"
      />
      <div class="form-error" role="alert" data-form-error />
      <div class="buttons">
        <button type="submit" id={id('submit')}>
          Send
        </button>
      </div>
    </form>
  )
}

/** The dialog on the application's pages; its close button is a `method="dialog"` form. */
export function SendDialog(props: { app: Application }) {
  return (
    <dialog id="send-dialog" aria-labelledby="send-dialog-title">
      <div class="dialog-head">
        <h2 id="send-dialog-title">Send a message to {props.app.name}</h2>
        <form method="dialog">
          <button type="submit" id="send-dialog-close" aria-label="Close the send dialog">
            Close
          </button>
        </form>
      </div>
      <SendForm app={props.app} idPrefix="send" />
    </dialog>
  )
}
