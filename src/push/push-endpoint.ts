/**
 * Which Web Push endpoints Pushgate will POST to. Registration (src/push/device-token.ts) and the
 * Web Push adapter (src/networks/webpush/subscription.ts) both ask here, so a row admitted under
 * older rules is refused at send time by the same rules that would refuse it today.
 *
 * Why: a variant secret is public in the web page, so anyone can register any URL as an endpoint
 * and have Pushgate post to it at every send. Without these rules that is a request forgery into
 * the operator's network (loopback, private addresses, internal names, any port) under
 * `wrangler dev` or self-hosted workerd, and a way to aim traffic at arbitrary origins.
 *
 * There is deliberately no allow-list of push services: the browser picks its push service, the
 * endpoint is opaque (RFC 8030 section 5), and a new browser's service must work without a
 * release. So the rules describe a public HTTPS origin instead: `https:`, default port, a dotted
 * host name that is neither an IP address nor a local or reserved name, no user name.
 *
 * Not covered: a public name can still resolve to a private address (wildcard DNS, rebinding).
 * A check on the URL cannot see that; only the runtime's egress rules can, such as workerd's
 * `network` service with `allow = ["public"]`, the default of its implicit `internet` service.
 */

export interface PushEndpointOptions {
  /**
   * ALLOW_INSECURE_ENDPOINTS, for local runs and tests against fakes on 127.0.0.1: `http:` is
   * accepted and the host and port rules are skipped.
   */
  allowInsecure: boolean
}

// Names that are local or can never be public (RFC 6761, RFC 6762 for .local, RFC 8375 for
// home.arpa, ICANN's 2024 reservation of .internal; .lan is not reserved but is what home routers
// hand out). example.com and its siblings stay allowed: they are real, resolvable names.
const LOCAL_SUFFIXES = [
  'localhost',
  'local',
  'internal',
  'lan',
  'home.arpa',
  'invalid',
  'test',
  'example',
]

// The URL parser has already turned every IPv4 spelling (`0x7f.1`, `2130706433`, `0177.0.0.1`)
// into dotted decimal and kept IPv6 in brackets, so these two forms are all that is left.
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

/**
 * The reason `url` may not be pushed to, as a sentence fit for a 400 body, or null when it may.
 * The sentence never repeats the endpoint: it identifies a device.
 */
export function checkPushEndpoint(url: URL, opts: PushEndpointOptions): string | null {
  // Plain http would expose the encrypted payload's metadata and the VAPID token in transit.
  const secure = url.protocol === 'https:' || (opts.allowInsecure && url.protocol === 'http:')
  if (!secure) {
    const allowed = opts.allowInsecure ? 'https: or http:' : 'https:'
    return `The subscription endpoint must be an ${allowed} URL.`
  }
  if (url.username !== '' || url.password !== '') {
    return 'The subscription endpoint must not carry a user name or password.'
  }
  if (opts.allowInsecure) return null

  // The parser drops `:443` on https, so any port left is another one.
  if (url.port !== '') return 'The subscription endpoint must not name a port.'

  const host = url.hostname.replace(/\.$/, '')
  if (host.startsWith('[') || IPV4.test(host)) {
    return 'The subscription endpoint must name its push service by domain, not IP address.'
  }
  const local = LOCAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))
  if (local || !host.includes('.')) {
    return 'The subscription endpoint must be on a public domain, not a local or reserved name.'
  }

  return null
}
