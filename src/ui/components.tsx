/**
 * The pieces every page is made of. Each works as plain HTML (forms, links, `<details>`);
 * the client script (assets/pushgate.js) finds them by their `data-*` attributes and adds
 * fetch-based submission, copy buttons, the send dialog and live progress.
 */
import type { Child, PropsWithChildren } from 'hono/jsx'
import { createContext, useContext } from 'hono/jsx'
import type { ApiProblem } from './api'
import type { JobVariant } from './shapes'

/**
 * What components need from the request: the session's CSRF token, the Worker's origin (for
 * snippets) and the page's own path (where a failed form post comes back to).
 */
export const RequestInfo = createContext({ csrf: '', origin: '', back: '/ui/' })

export const useRequestInfo = () => useContext(RequestInfo)

export function CsrfField() {
  return <input type="hidden" name="_csrf" value={useRequestInfo().csrf} />
}

type ActionProps = PropsWithChildren<{
  /** The API call: method and path under /rest (or a UI endpoint for `action`). */
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  /** Where to go after success; `{field}` takes a field of the API's answer. */
  next: string
  /** Shown after success. */
  notice?: string
  id?: string
  class?: string
  multipart?: boolean
  /** Posted as a plain form even with JavaScript (answers that carry a one-time secret). */
  native?: boolean
  label?: string
}>

/**
 * A form that performs one API call. Without JavaScript it posts to `/ui/act`, which makes the
 * call in process and redirects to `next` with the outcome; with it, the client script calls
 * the API itself and shows any error inside the form, keeping what was typed.
 */
export function ActionForm(props: ActionProps) {
  return (
    <form
      method="post"
      action="/ui/act"
      id={props.id}
      class={props.class ?? 'action'}
      data-api={props.native ? undefined : ''}
      enctype={props.multipart ? 'multipart/form-data' : undefined}
      aria-label={props.label}
    >
      <CsrfField />
      <input type="hidden" name="_method" value={props.method} />
      <input type="hidden" name="_path" value={props.path} />
      <input type="hidden" name="_next" value={props.next} />
      <input type="hidden" name="_back" value={useRequestInfo().back} />
      {props.notice ? <input type="hidden" name="_notice" value={props.notice} /> : null}
      {props.children}
      <div class="form-error" role="alert" data-form-error />
    </form>
  )
}

type FieldProps = {
  id: string
  name: string
  label: string
  hint?: string
  value?: string | null | undefined
  type?: string
  required?: boolean
  placeholder?: string
  autocomplete?: string
  maxlength?: number
  min?: number
  inputmode?: 'numeric' | 'email' | 'url' | 'text'
}

export function Field(props: FieldProps) {
  const hintId = props.hint ? `${props.id}-hint` : undefined
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value ?? undefined}
        required={props.required}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete ?? 'off'}
        maxlength={props.maxlength}
        min={props.min}
        inputmode={props.inputmode}
        aria-describedby={hintId}
      />
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
    </div>
  )
}

export function TextArea(props: FieldProps & { rows?: number }) {
  const hintId = props.hint ? `${props.id}-hint` : undefined
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea
        id={props.id}
        name={props.name}
        rows={props.rows ?? 4}
        required={props.required}
        placeholder={props.placeholder}
        spellcheck={false}
        aria-describedby={hintId}
      >
        {props.value ?? ''}
      </textarea>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
    </div>
  )
}

export function FileField(props: { id: string; name: string; label: string; accept: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input id={props.id} name={props.name} type="file" accept={props.accept} />
    </div>
  )
}

/** A copy button for the text of the element `target`; hidden until the script shows it. */
export function CopyButton(props: { target: string; label: string }) {
  return (
    <button type="button" class="copy" data-copy={props.target} aria-label={props.label} hidden>
      Copy
    </button>
  )
}

/** A value shown in full, with a copy button. */
export function CopyValue(props: { id: string; value: string; label: string }) {
  return (
    <span class="copy-value">
      <code id={props.id}>{props.value}</code>
      <CopyButton target={props.id} label={`Copy ${props.label}`} />
    </span>
  )
}

/** A secret, masked until the person opens it (native disclosure: works with the keyboard). */
export function MaskedSecret(props: { id: string; value: string; label: string }) {
  return (
    <details class="reveal" id={`${props.id}-reveal`}>
      <summary>
        <span aria-hidden="true">••••••••</span> <span class="action-text">Show {props.label}</span>
      </summary>
      <CopyValue id={props.id} value={props.value} label={props.label} />
    </details>
  )
}

/** A destructive or disruptive action behind a disclosure that says what it breaks. */
export function Confirm(
  props: PropsWithChildren<{ id: string; summary: string; warning: Child; danger?: boolean }>,
) {
  return (
    <details class={props.danger ? 'confirm danger' : 'confirm'} id={props.id}>
      <summary>{props.summary}</summary>
      <div class="confirm-body">
        <p class="warning">{props.warning}</p>
        {props.children}
      </div>
    </details>
  )
}

export function Snippet(props: { id: string; title: string; text: string }) {
  return (
    <figure class="snippet">
      <figcaption>
        <span>{props.title}</span>
        <CopyButton target={props.id} label={`Copy ${props.title}`} />
      </figcaption>
      <pre tabindex={0}>
        <code id={props.id}>{props.text}</code>
      </pre>
    </figure>
  )
}

/** The API's words for a failure: its message and, per field, what is wrong. */
export function Problem(props: { problem: ApiProblem; id?: string }) {
  const details = Object.entries(props.problem.details ?? {})
  return (
    <div class="problem" role="alert" id={props.id}>
      <p>{props.problem.message}</p>
      {details.length > 0 ? (
        <ul>
          {details.map(([field, what]) => (
            <li>
              <code>{field}</code>: {what}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  )
}

export function Pager(props: { page: number; perPage: number; total: number; href: string }) {
  const last = Math.max(0, Math.ceil(props.total / props.perPage) - 1)
  if (last === 0) return null
  const link = (page: number) => `${props.href}${props.href.includes('?') ? '&' : '?'}page=${page}`
  return (
    <nav class="pager" aria-label="Pages">
      {props.page > 0 ? (
        <a href={link(props.page - 1)} rel="prev">
          Previous
        </a>
      ) : null}
      <span>
        Page {props.page + 1} of {last + 1}
      </span>
      {props.page < last ? (
        <a href={link(props.page + 1)} rel="next">
          Next
        </a>
      ) : null}
    </nav>
  )
}

const PARTS = [
  ['delivered', 'delivered'],
  ['failed', 'failed'],
  ['invalidTokens', 'pruned'],
  ['pending', 'pending'],
] as const

/**
 * One variant's progress in a send: a stacked bar (SVG, no inline style, so the CSP holds) and
 * the counts in words. The client script updates both while the send runs.
 */
export function Progress(props: { variant: JobVariant; label: string }) {
  const v = props.variant
  const total = Math.max(v.receivers, 1)
  let x = 0
  const words = PARTS.map(([key, word]) => `${v[key]} ${word}`).join(', ')
  const reasons = Object.entries(v.reasons)
  return (
    <div class="progress" data-variant={v.variantID} data-status={v.status}>
      <div class="progress-head">
        <span>{props.label}</span>
        <span class="progress-status" data-field="status">
          {v.status}
        </span>
      </div>
      <svg
        class="bar"
        viewBox="0 0 100 4"
        preserveAspectRatio="none"
        role="img"
        aria-label={`${words} of ${v.receivers}`}
        data-bar
      >
        <title>{`${words} of ${v.receivers}`}</title>
        {PARTS.map(([key, word]) => {
          const width = (v[key] / total) * 100
          const rect = <rect class={word} data-part={key} x={x} y={0} width={width} height={4} />
          x += width
          return rect
        })}
      </svg>
      <p class="counts">
        {PARTS.map(([key, word]) => (
          <span class={`count ${word}`}>
            <span data-field={key}>{v[key]}</span> {word}
          </span>
        ))}
        <span class="count">
          of <span data-field="receivers">{v.receivers}</span>
        </span>
      </p>
      <p class="reasons" data-field="reasons" hidden={reasons.length === 0}>
        {reasons.length > 0
          ? `Reasons: ${reasons.map(([reason, n]) => `${reason} ×${n}`).join(', ')}`
          : ''}
      </p>
      {v.reason ? <p class="reasons">Last reason: {v.reason}</p> : null}
    </div>
  )
}

export const TYPE_NAMES = {
  android: 'Android (FCM)',
  ios_token: 'iOS (APNs token)',
  web_push: 'Web Push',
} as const

/** The type's name with its indefinite article, for "Add an Android (FCM) variant". */
export const A_TYPE_NAME = {
  android: 'an Android (FCM)',
  ios_token: 'an iOS (APNs token)',
  web_push: 'a Web Push',
} as const

export function formatDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
