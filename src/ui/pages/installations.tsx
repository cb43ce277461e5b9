/**
 * The Installations tab: the devices of one variant, searched (token, alias, device, OS) and
 * paged by the API; each can be disabled, enabled or deleted; the whole variant exports as one
 * JSON file through the export API. Device tokens are shortened: a Web Push token is the
 * browser's subscription, and the endpoint says enough to tell devices apart.
 */
import { z } from 'zod'
import { getApi, type UiContext } from '../api'
import { ActionForm, Confirm, Pager, TYPE_NAMES } from '../components'
import { headerCount, Installation, type Variant } from '../shapes'
import { loadApp, renderApp } from './application'

const PER_PAGE = 20

const Query = z.object({
  variant: z.string().max(255).optional().catch(undefined),
  search: z.string().max(256).optional().catch(undefined),
  page: z.coerce.number().int().min(0).max(100_000).catch(0),
})

const Subscription = z.object({ endpoint: z.string() })

/** A short, recognisable form of a token: the push service's host for Web Push. */
export function shortToken(token: string): string {
  try {
    const parsed = Subscription.safeParse(JSON.parse(token))
    if (parsed.success) {
      const url = new URL(parsed.data.endpoint)
      return `${url.host} …${parsed.data.endpoint.slice(-8)}`
    }
  } catch {
    // Not JSON: an APNs or FCM token.
  }
  return token.length > 24 ? `${token.slice(0, 12)}…${token.slice(-8)}` : token
}

function Row(props: { item: Installation; variant: Variant; back: string }) {
  const { item, variant } = props
  const path = `/rest/applications/${encodeURIComponent(variant.variantID)}/installations/${encodeURIComponent(item.id)}`
  const label = item.alias ?? shortToken(item.deviceToken)
  return (
    <tr id={`installation-${item.id}`} data-enabled={String(item.enabled)}>
      <td>
        <code title={item.deviceToken.length <= 200 ? item.deviceToken : undefined}>
          {shortToken(item.deviceToken)}
        </code>
      </td>
      <td>{item.alias ?? ''}</td>
      <td>{[item.deviceType, item.operatingSystem, item.osVersion].filter(Boolean).join(' ')}</td>
      <td>{item.categories.map((c) => c.name).join(', ')}</td>
      <td>{item.enabled ? 'enabled' : 'disabled'}</td>
      <td class="row-actions">
        <ActionForm
          method="PUT"
          path={path}
          next={props.back}
          notice={item.enabled ? 'Device disabled.' : 'Device enabled.'}
          label={`${item.enabled ? 'Disable' : 'Enable'} ${label}`}
        >
          <input type="hidden" name="enabled:bool" value={item.enabled ? 'false' : 'true'} />
          <button type="submit">{item.enabled ? 'Disable' : 'Enable'}</button>
        </ActionForm>
        <Confirm
          id={`delete-installation-${item.id}`}
          summary="Delete…"
          danger
          warning="The device stops receiving until its app registers again."
        >
          <ActionForm
            method="DELETE"
            path={path}
            next={props.back}
            notice="Device deleted."
            label={`Delete ${label}`}
          >
            <button type="submit" class="danger">
              Yes, delete
            </button>
          </ActionForm>
        </Confirm>
      </td>
    </tr>
  )
}

export async function installationsTab(c: UiContext) {
  const loaded = await loadApp(c)
  const { app, base } = loaded
  const query = Query.parse(c.req.query())
  const variant = app.variants.find((v) => v.variantID === query.variant) ?? app.variants[0]
  if (!variant) {
    return renderApp(
      c,
      loaded,
      'installations',
      <p>
        No variant yet: devices register with a variant. <a href={base}>Add one</a>.
      </p>,
    )
  }

  const search = query.search?.trim() ?? ''
  const params = new URLSearchParams({ page: String(query.page), per_page: String(PER_PAGE) })
  if (search) params.set('search', search)
  const { body, headers } = await getApi(
    c,
    `/rest/applications/${encodeURIComponent(variant.variantID)}/installations?${params}`,
    z.array(Installation),
  )
  const total = headerCount(headers, 'total')
  const listParams = new URLSearchParams({ variant: variant.variantID })
  if (search) listParams.set('search', search)
  const href = `${base}/installations?${listParams}`
  const back = query.page > 0 ? `${href}&page=${query.page}` : href

  return renderApp(
    c,
    loaded,
    'installations',
    <section aria-labelledby="installations-title">
      <h2 id="installations-title">Installations</h2>
      <search>
        <form method="get" action={`${base}/installations`} class="filters">
          <div class="field">
            <label for="installations-variant">Variant</label>
            <select id="installations-variant" name="variant">
              {app.variants.map((v) => (
                <option value={v.variantID} selected={v.variantID === variant.variantID}>
                  {v.name} ({TYPE_NAMES[v.type]})
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="installations-search">Search token, alias, device type or OS</label>
            <input id="installations-search" name="search" type="search" value={search} />
          </div>
          <button type="submit" id="installations-filter">
            Show
          </button>
        </form>
      </search>
      <p>
        {total} {total === 1 ? 'device' : 'devices'}
        {search ? ` matching “${search}”` : ''} in {variant.name}.{' '}
        <a
          href={`/rest/export/${encodeURIComponent(variant.variantID)}/installations/`}
          download={`installations-${variant.variantID}.json`}
          id="installations-export"
        >
          Export all as JSON
        </a>
      </p>
      {body.length === 0 ? null : (
        <section class="table-wrap" aria-label="Devices" tabindex={0}>
          <table id="installations">
            <caption class="visually-hidden">Devices of {variant.name}</caption>
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">Alias</th>
                <th scope="col">Device</th>
                <th scope="col">Categories</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {body.map((item) => (
                <Row item={item} variant={variant} back={back} />
              ))}
            </tbody>
          </table>
        </section>
      )}
      <Pager page={query.page} perPage={PER_PAGE} total={total} href={href} />
    </section>,
  )
}
