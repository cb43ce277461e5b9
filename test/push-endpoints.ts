/**
 * Web Push endpoints for the rules of src/push/push-endpoint.ts, shared by the unit, registration
 * and adapter tests so that every edge is held to the same list. Written from finding S2 and the
 * push services' real endpoint shapes, not from the module.
 */

/** [what it is, endpoint]: each must be refused unless insecure endpoints are allowed. */
export const REFUSED_ENDPOINTS: readonly [string, string][] = [
  ['http:', 'http://push.example.net/wpush/v2/abc'],
  ['IPv4 loopback', 'https://127.0.0.1/push/abc'],
  ['IPv4 loopback with a trailing dot', 'https://127.0.0.1./push/abc'],
  ['IPv4 in hex, two parts', 'https://0x7f.1/push/abc'],
  ['IPv4 as one integer', 'https://2130706433/push/abc'],
  ['IPv4 in octal', 'https://0177.0.0.1/push/abc'],
  ['a private IPv4 address', 'https://10.0.0.5/push/abc'],
  ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data/'],
  ['IPv6 loopback', 'https://[::1]/push/abc'],
  ['IPv4-mapped IPv6', 'https://[::ffff:127.0.0.1]/push/abc'],
  ['a unique-local IPv6 address', 'https://[fd00::1]/push/abc'],
  ['localhost', 'https://localhost/push/abc'],
  ['LOCALHOST with a trailing dot', 'https://LOCALHOST./push/abc'],
  ['a name under .localhost', 'https://api.localhost/push/abc'],
  ['a name under .local', 'https://printer.local/push/abc'],
  ['a name under .internal', 'https://metadata.google.internal/computeMetadata/v1/'],
  ['a name under .lan', 'https://router.lan/push/abc'],
  ['a name under .home.arpa', 'https://nas.home.arpa/push/abc'],
  ['a name under .invalid', 'https://push.invalid/push/abc'],
  ['a name under .test', 'https://push.test/push/abc'],
  ['a name under .example', 'https://push.example/push/abc'],
  ['a bare host name', 'https://intranet/push/abc'],
  ['a port other than 443', 'https://push.example.net:8443/push/abc'],
  ['port 80 on https', 'https://push.example.net:80/push/abc'],
  ['a user name and password', 'https://user:secret@push.example.net/push/abc'],
  ['a user name alone', 'https://user@push.example.net/push/abc'],
]

/** Endpoints in the shapes today's browsers' push services hand out. */
export const PUSH_SERVICE_ENDPOINTS: readonly string[] = [
  'https://fcm.googleapis.com/fcm/send/dGVzdC1lbmRwb2ludA:APA91bHx7Qm2-u_Zk9wEoY3rT',
  'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABmZ3RhbmRvbS10b2tlbi1oZXJl',
  'https://web.push.apple.com/QHs1xH4n1zZ3b2tlbi1mcm9tLWFwcGxlLXB1c2g',
  'https://wns2-by3p.notify.windows.com/w/?token=BQYAAADhZXhhbXBsZS13bnMtdG9rZW4%3d',
]
