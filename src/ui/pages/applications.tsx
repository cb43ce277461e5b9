/**
 * Applications: the list with paging and device counts, and create, rename and delete. Creating
 * posts as a plain form (not through fetch) so that the master secret in the API's answer can
 * be shown once, on the next page, from the flash cookie.
 */
import { z } from 'zod'
import { getApi, type UiContext } from '../api'
import { ActionForm, Confirm, Field, Pager } from '../components'
import { render } from '../render'
import { type Application, Application as ApplicationShape, headerCount } from '../shapes'

const PER_PAGE = 10

const Query = z.object({ page: z.coerce.number().int().min(0).max(100_000).catch(0) })

export function CreateApplicationForm() {
  return (
    <ActionForm
      id="create-app"
      method="POST"
      path="/rest/applications"
      next="/ui/applications/{pushApplicationID}/guide"
      notice="Application created."
      native
      label="Create an application"
    >
      <Field id="app-create-name" name="name" label="Name" required maxlength={255} />
      <Field
        id="app-create-description"
        name="description"
        label="Description (optional)"
        maxlength={1024}
      />
      <button type="submit" id="app-create-submit">
        Create application
      </button>
    </ActionForm>
  )
}

function ApplicationRow(props: { app: Application; devices: number }) {
  const { app } = props
  const id = app.pushApplicationID
  const path = `/rest/applications/${encodeURIComponent(id)}`
  return (
    <li class="card app" id={`app-${id}`}>
      <h3>
        <a href={`/ui/applications/${encodeURIComponent(id)}`}>{app.name}</a>
      </h3>
      {app.description ? <p>{app.description}</p> : null}
      <dl class="facts">
        <dt>Variants</dt>
        <dd>{app.variants.length}</dd>
        <dt>Devices</dt>
        <dd data-field="device-count">{props.devices}</dd>
        <dt>pushApplicationID</dt>
        <dd>
          <code>{id}</code>
        </dd>
      </dl>
      <div class="actions">
        <details class="edit" id={`rename-${id}`}>
          <summary>Rename</summary>
          <ActionForm
            method="PUT"
            path={path}
            next="/ui/applications"
            notice="Application renamed."
            label={`Rename ${app.name}`}
          >
            <Field id={`rename-${id}-name`} name="name" label="Name" value={app.name} required />
            <Field
              id={`rename-${id}-description`}
              name="description:null"
              label="Description"
              value={app.description}
            />
            <button type="submit">Save</button>
          </ActionForm>
        </details>
        <Confirm
          id={`delete-${id}`}
          summary="Delete…"
          danger
          warning={`Deleting ${app.name} removes its variants, every registered device and its send history. Backends using its master secret can no longer send.`}
        >
          <ActionForm
            method="DELETE"
            path={path}
            next="/ui/applications"
            notice={`Application ${app.name} deleted.`}
            label={`Delete ${app.name}`}
          >
            <button type="submit" class="danger">
              Yes, delete {app.name}
            </button>
          </ActionForm>
        </Confirm>
      </div>
    </li>
  )
}

export async function applications(c: UiContext) {
  const { page } = Query.parse(c.req.query())
  const query = `page=${page}&per_page=${PER_PAGE}&includeDeviceCount=true`
  const { body, headers } = await getApi(
    c,
    `/rest/applications?${query}`,
    z.array(ApplicationShape),
  )
  const total = headerCount(headers, 'total')
  return render(
    c,
    { title: 'Applications', section: 'applications' },
    <>
      <section aria-labelledby="create-title" class="panel">
        <h2 id="create-title">Create an application</h2>
        <p>
          An application is what your backend sends to. It gets one variant per push network
          (Android, iOS, Web Push).
        </p>
        <CreateApplicationForm />
      </section>
      <section aria-labelledby="list-title">
        <h2 id="list-title">
          {total} {total === 1 ? 'application' : 'applications'}
        </h2>
        {body.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <ul class="cards" id="applications">
            {body.map((app) => (
              <ApplicationRow
                app={app}
                devices={headerCount(headers, `deviceCount_app_${app.pushApplicationID}`)}
              />
            ))}
          </ul>
        )}
        <Pager page={page} perPage={PER_PAGE} total={total} href="/ui/applications" />
      </section>
    </>,
  )
}
