/**
 * The Variants tab: a card per variant with its type, device count, variantID and secret
 * (masked, with reveal and copy), the renewals with what they break, credential editing (file
 * upload or paste), deletion, and the client configuration to paste into the app. Below, the
 * forms that add a variant of each type.
 *
 * Credentials are write-only: the API never returns a .p8 key, a service account's private
 * key or a VAPID private key, so no page can show one; the forms only send new ones.
 */
import type { UiContext } from '../api'
import {
  A_TYPE_NAME,
  ActionForm,
  Confirm,
  CopyValue,
  Field,
  FileField,
  MaskedSecret,
  Snippet,
  TextArea,
  TYPE_NAMES,
  useRequestInfo,
} from '../components'
import type { Application, Variant, VariantType } from '../shapes'
import { clientConfig } from '../snippets'
import { type LoadedApp, loadApp, renderApp } from './application'

const variantPath = (app: Application, v: Variant) =>
  `/rest/applications/${encodeURIComponent(app.pushApplicationID)}/${v.type}/${encodeURIComponent(v.variantID)}`

function PublicFields(props: { variant: Variant }) {
  const v = props.variant
  const rows: [string, string][] = []
  const add = (label: string, value: unknown) => {
    if (value !== null && value !== undefined && value !== '') rows.push([label, String(value)])
  }
  switch (v.type) {
    case 'android':
      add('Firebase project', v.projectId)
      add('Service account', v.clientEmail)
      add('Project number', v.projectNumber)
      break
    case 'ios_token':
      add('Key ID', v.keyId)
      add('Team ID', v.teamId)
      add('Bundle ID', v.bundleId)
      add('APNs environment', v.production ? 'production' : 'sandbox (development)')
      break
    case 'web_push':
      add('VAPID subject', v.alias)
      break
  }
  return (
    <>
      {rows.map(([label, value]) => (
        <>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </>
  )
}

/**
 * The credential fields of a type. Editing (`current` given), every field is optional and the
 * public ones show the stored values; secret ones start empty and keep the stored key if left so.
 */
function CredentialFields(props: { type: VariantType; prefix: string; current?: Variant }) {
  const id = (name: string) => `${props.prefix}-${name}`
  const now = props.current
  const required = now === undefined
  switch (props.type) {
    case 'android':
      return (
        <>
          <FileField
            id={id('sa-file')}
            name="serviceAccount:file"
            label="Service-account JSON file"
            accept=".json,application/json"
          />
          <TextArea
            id={id('sa-text')}
            name="serviceAccount"
            label="…or paste the service-account JSON"
            hint="Firebase console › Project settings › Service accounts › Generate new private key."
            rows={4}
          />
          <Field
            id={id('project-number')}
            name="projectNumber"
            label="Project number (sender ID, optional)"
            inputmode="numeric"
            value={now?.projectNumber}
          />
        </>
      )
    case 'ios_token':
      return (
        <>
          <FileField
            id={id('p8-file')}
            name="privateKey:file"
            label="APNs signing key (.p8 file)"
            accept=".p8"
          />
          <TextArea
            id={id('p8-text')}
            name="privateKey"
            label="…or paste the .p8 key"
            hint="Apple Developer › Certificates, Identifiers & Profiles › Keys."
            rows={4}
          />
          <div class="row">
            <Field
              id={id('key-id')}
              name="keyId"
              label="Key ID"
              maxlength={10}
              required={required}
              value={now?.keyId}
            />
            <Field
              id={id('team-id')}
              name="teamId"
              label="Team ID"
              maxlength={10}
              required={required}
              value={now?.teamId}
            />
          </div>
          <Field
            id={id('bundle-id')}
            name="bundleId"
            label="Bundle ID"
            placeholder="com.example.app"
            required={required}
            value={now?.bundleId}
          />
          <div class="check">
            <input type="hidden" name="production:bool" value="false" />
            <input
              type="checkbox"
              id={id('production')}
              name="production:bool"
              value="true"
              checked={now?.production === true}
            />
            <label for={id('production')}>
              Production APNs (unticked: sandbox, for development builds)
            </label>
          </div>
        </>
      )
    case 'web_push':
      return (
        <Field
          id={id('subject')}
          name="alias"
          label="VAPID subject"
          placeholder="mailto:ops@example.com"
          hint="A mailto: or https: contact the push services can reach."
          required={required}
          value={now?.alias}
        />
      )
  }
}

const TYPE_HELP: Record<VariantType, string> = {
  android: 'Android apps through Firebase Cloud Messaging (HTTP v1).',
  ios_token: 'iOS apps through APNs with a token signing key (.p8).',
  web_push: 'Browsers through Web Push; a VAPID key pair is generated for you.',
}

/** A form that adds a variant of `type`; `next` is where to go after it is made. */
export function AddVariantForm(props: {
  app: Application
  type: VariantType
  next: string
  open?: boolean
}) {
  const prefix = `add-${props.type}`
  return (
    <details class="add-variant" id={`${prefix}-details`} open={props.open}>
      <summary>Add {A_TYPE_NAME[props.type]} variant</summary>
      <p class="hint">{TYPE_HELP[props.type]}</p>
      <ActionForm
        id={`${prefix}-form`}
        method="POST"
        path={`/rest/applications/${encodeURIComponent(props.app.pushApplicationID)}/${props.type}`}
        next={props.next}
        notice="Variant created."
        multipart={props.type !== 'web_push'}
        label={`Add ${A_TYPE_NAME[props.type]} variant`}
      >
        <Field id={`${prefix}-name`} name="name" label="Name" required maxlength={255} />
        <CredentialFields type={props.type} prefix={prefix} />
        <button type="submit" id={`${prefix}-submit`}>
          Add variant
        </button>
      </ActionForm>
    </details>
  )
}

export function ClientConfig(props: { variant: Variant }) {
  const snippet = clientConfig(useRequestInfo().origin, props.variant)
  return (
    <Snippet id={`config-${props.variant.variantID}`} title={snippet.title} text={snippet.text} />
  )
}

function VariantCard(props: { app: Application; variant: Variant; devices: number; base: string }) {
  const { app, variant: v } = props
  const path = variantPath(app, v)
  const vid = v.variantID
  const back = `${props.base}#variant-${vid}`
  return (
    <li class="card variant" id={`variant-${vid}`} data-type={v.type}>
      <h3>
        {v.name} <span class="badge">{TYPE_NAMES[v.type]}</span>
      </h3>
      <dl class="facts">
        <dt>Devices</dt>
        <dd data-field="device-count">{props.devices}</dd>
        <dt>variantID</dt>
        <dd>
          <CopyValue id={`variant-id-${vid}`} value={vid} label="variantID" />
        </dd>
        <dt>Secret</dt>
        <dd>
          <MaskedSecret id={`variant-secret-${vid}`} value={v.secret} label="secret" />
        </dd>
        {v.type === 'web_push' && v.publicKey ? (
          <>
            <dt>VAPID public key</dt>
            <dd>
              <CopyValue id={`vapid-${vid}`} value={v.publicKey} label="VAPID public key" />
            </dd>
          </>
        ) : null}
        <PublicFields variant={v} />
      </dl>

      <details class="config" id={`config-${vid}-details`}>
        <summary>Client configuration</summary>
        <ClientConfig variant={v} />
      </details>

      <div class="actions">
        <details class="edit" id={`edit-${vid}`}>
          <summary>Edit name and credentials</summary>
          <ActionForm
            method="PUT"
            path={path}
            next={back}
            notice="Variant saved."
            multipart={v.type !== 'web_push'}
            label={`Edit ${v.name}`}
          >
            <Field id={`edit-${vid}-name`} name="name" label="Name" value={v.name} required />
            <CredentialFields type={v.type} prefix={`edit-${vid}`} current={v} />
            <p class="hint">Leave a credential empty to keep the stored one.</p>
            <button type="submit">Save</button>
          </ActionForm>
        </details>
        <Confirm
          id={`reset-${vid}`}
          summary="Renew secret…"
          warning="Apps built with the old secret stop registering devices until they ship the new one. Devices already registered keep receiving."
        >
          <ActionForm
            method="PUT"
            path={`${path}/reset`}
            next={back}
            notice="Variant secret renewed."
            label={`Renew the secret of ${v.name}`}
          >
            <button type="submit">Yes, renew the secret</button>
          </ActionForm>
        </Confirm>
        {v.type === 'web_push' ? (
          <Confirm
            id={`renew-${vid}`}
            summary="Renew VAPID keys…"
            warning="Every existing browser subscription stops working: browsers must subscribe again with the new public key."
          >
            <ActionForm
              method="PUT"
              path={`${path}/renew`}
              next={back}
              notice="VAPID keys renewed."
              label={`Renew the VAPID keys of ${v.name}`}
            >
              <button type="submit">Yes, renew the VAPID keys</button>
            </ActionForm>
          </Confirm>
        ) : null}
        <Confirm
          id={`delete-${vid}`}
          summary="Delete…"
          danger
          warning={`Deleting ${v.name} removes its ${props.devices} registered devices.`}
        >
          <ActionForm
            method="DELETE"
            path={path}
            next={props.base}
            notice={`Variant ${v.name} deleted.`}
            label={`Delete ${v.name}`}
          >
            <button type="submit" class="danger">
              Yes, delete {v.name}
            </button>
          </ActionForm>
        </Confirm>
      </div>
    </li>
  )
}

export function VariantCards(props: { loaded: LoadedApp }) {
  const { app, devices, base } = props.loaded
  return (
    <ul class="cards" id="variants">
      {app.variants.map((v) => (
        <VariantCard app={app} variant={v} devices={devices.get(v.variantID) ?? 0} base={base} />
      ))}
    </ul>
  )
}

export async function variantsTab(c: UiContext) {
  const loaded = await loadApp(c)
  const { app, base } = loaded
  return renderApp(
    c,
    loaded,
    'variants',
    <>
      <section aria-labelledby="variants-title">
        <h2 id="variants-title">Variants</h2>
        {app.variants.length === 0 ? (
          <p>
            No variant yet. Add one below, or follow the{' '}
            <a href={`${base}/guide`}>first-run guide</a>.
          </p>
        ) : (
          <VariantCards loaded={loaded} />
        )}
      </section>
      <section aria-labelledby="add-title" class="panel">
        <h2 id="add-title">Add a variant</h2>
        {(['web_push', 'android', 'ios_token'] as const).map((type) => (
          <AddVariantForm app={app} type={type} next={base} />
        ))}
      </section>
    </>,
  )
}
