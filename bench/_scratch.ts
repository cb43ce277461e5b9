/// <reference types="node" />
import { createECDH, randomBytes } from 'node:crypto'
import { unstable_startWorker } from 'wrangler'
const w = await unstable_startWorker({
  entrypoint: 'bench/encrypt-worker.ts',
  compatibilityDate: '2026-11-01',
  compatibilityFlags: ['nodejs_compat'],
  dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, logLevel: 'warn' },
} as never)
await w.ready
const url = await w.url
console.log('url', url.href)
const subs = Array.from({ length: 2000 }, (_, i) => {
  const e = createECDH('prime256v1'); e.generateKeys()
  return { endpoint: `http://x/${i}`, keys: { p256dh: e.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') } }
})
for (let r = 0; r < 5; r++) {
  for (const encrypt of [true, false]) {
    const t = performance.now()
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ subscriptions: subs, payload: 'x'.repeat(200), encrypt }) })
    const j = await res.json()
    console.log(encrypt, (performance.now() - t).toFixed(1), JSON.stringify(j).slice(0, 100))
  }
}
await w.dispose()
