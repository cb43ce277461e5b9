/**
 * Text to paste: the client configuration of a variant for the AeroGear SDKs (Android, iOS) or a
 * web page, and the sender call of an application for curl, Node and Java. Pure functions of
 * the public values; the master secret is always a placeholder, since pages never hold it
 * (except the one page that shows it once).
 */
import type { Variant } from './shapes'

const json = (value: unknown) => JSON.stringify(value, null, 2)

/** A JavaScript string literal in single quotes, as the snippets are written. */
const js = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`

const xml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

/** `push-config.json` for aerogear-android-push (in the app's `assets/`). */
export function androidConfig(origin: string, variant: Variant): string {
  return json({
    pushServerURL: `${origin}/`,
    android: {
      senderID: variant.projectNumber ?? '<Firebase project number>',
      variantID: variant.variantID,
      variantSecret: variant.secret,
    },
  })
}

/** `pushconfig.plist` for aerogear-ios-push (`DeviceRegistration(config: "pushconfig")`). */
export function iosConfig(origin: string, variant: Variant): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" ' +
      '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>serverURL</key>',
    `  <string>${xml(origin)}/</string>`,
    '  <key>variantID</key>',
    `  <string>${xml(variant.variantID)}</string>`,
    '  <key>variantSecret</key>',
    `  <string>${xml(variant.secret)}</string>`,
    '</dict>',
    '</plist>',
  ].join('\n')
}

/** Subscribing a browser and registering its subscription, in a page's own script. */
export function webConfig(origin: string, variant: Variant): string {
  return `// In your page, after registering a service worker that shows the pushes.
// Pushgate does not answer CORS preflights yet: from a page on another origin, make the
// registration call below through your own server.
const registration = await navigator.serviceWorker.ready
const subscription = await registration.pushManager.subscribe({
  userVisibleOnly: true,
  applicationServerKey: ${js(variant.publicKey ?? '<VAPID public key>')},
})
await fetch(${js(`${origin}/rest/registry/device`)}, {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    Authorization: 'Basic ' + btoa(${js(`${variant.variantID}:${variant.secret}`)}),
  },
  body: JSON.stringify({ deviceToken: subscription.toJSON(), alias: 'user@example.com' }),
})`
}

export function clientConfig(origin: string, variant: Variant) {
  switch (variant.type) {
    case 'android':
      return { title: 'Android: assets/push-config.json', text: androidConfig(origin, variant) }
    case 'ios_token':
      return { title: 'iOS: pushconfig.plist', text: iosConfig(origin, variant) }
    case 'web_push':
      return { title: 'Web: register the browser', text: webConfig(origin, variant) }
  }
}

/** Registering a device by hand, to try a variant before any app exists. */
export function registerCurl(origin: string, variant: Variant): string {
  const token =
    variant.type === 'web_push'
      ? `'{"deviceToken":{"endpoint":"https://push.example.net/…","keys":{"p256dh":"…","auth":"…"}},"alias":"user@example.com"}'`
      : `'{"deviceToken":"<the device token>","alias":"user@example.com"}'`
  return `curl -X POST ${origin}/rest/registry/device \\
  -u '${variant.variantID}:${variant.secret}' \\
  -H 'Content-Type: application/json' \\
  -d ${token}`
}

export function senderCurl(origin: string, pushApplicationID: string): string {
  return `export MASTER_SECRET=<the master secret>
curl -X POST ${origin}/rest/sender \\
  -u "${pushApplicationID}:$MASTER_SECRET" \\
  -H 'Content-Type: application/json' \\
  -d '{"message":{"alert":"Hello from Pushgate","sound":"default"},"criteria":{"alias":["user@example.com"]}}'`
}

export function senderNode(origin: string, pushApplicationID: string): string {
  return `// npm install unifiedpush-node-sender
const agSender = require('unifiedpush-node-sender')

const settings = {
  url: ${js(origin)},
  applicationId: ${js(pushApplicationID)},
  masterSecret: process.env.MASTER_SECRET,
}

agSender(settings)
  .then((client) =>
    client.sender.send(
      { alert: 'Hello from Pushgate', sound: 'default' },
      { criteria: { alias: ['user@example.com'] } },
    ),
  )
  .then((answer) => console.log('sent', answer))`
}

export function senderJava(origin: string, pushApplicationID: string): string {
  return `// Maven: org.jboss.aerogear:unifiedpush-java-client
PushSender sender = DefaultPushSender
    .withRootServerURL(${JSON.stringify(`${origin}/`)})
    .pushApplicationId(${JSON.stringify(pushApplicationID)})
    .masterSecret(System.getenv("MASTER_SECRET"))
    .build();

UnifiedMessage message = UnifiedMessage.withMessage()
    .alert("Hello from Pushgate")
    .sound("default")
    .build();

sender.send(message, () -> System.out.println("sent"));`
}
