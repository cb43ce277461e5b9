import { connect } from 'cloudflare:sockets'
import { expect, inject, it } from 'vitest'

it('connects to 127.0.0.1', async () => {
  const url = new URL(inject('webPushFakeUrl'))
  const socket = connect({ hostname: url.hostname, port: Number(url.port) }, { secureTransport: 'off', allowHalfOpen: false })
  const w = socket.writable.getWriter()
  await w.write(new TextEncoder().encode(`GET /_unexpected HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
  const r = socket.readable.getReader()
  const { value } = await r.read()
  const text = new TextDecoder().decode(value)
  console.log(text.slice(0, 200))
  expect(text).toMatch(/^HTTP\/1.1/)
  await socket.close()
})
