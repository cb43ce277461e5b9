/// <reference types="node" />
/**
 * CPU profiles of workerd for the h2 bench (BENCH_H2_PROFILE=<dir>): the V8 sampling profiler
 * driven over the DevTools protocol, through the inspector port wrangler opens, and a summary of
 * where the samples fell: each function's share of them, by itself (self) and with what it
 * called (inclusive). The .cpuprofile files open in Chrome DevTools or speedscope.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'

/** The parts of a V8 CPU profile (DevTools protocol, Profiler.Profile) that are read here. */
const Profile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  samples: z.array(z.number()),
})

const Reply = z.object({ id: z.number().optional(), result: z.unknown().optional() })
const Targets = z.array(z.object({ webSocketDebuggerUrl: z.string().optional() }))

/** Starts sampling workerd's isolate; `stop` writes the profile to `file` and returns its path. */
export async function startProfiling(inspectorPort: number) {
  const listed = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()
  const url = Targets.parse(listed).find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl
  if (!url) throw new Error(`no inspector target on port ${inspectorPort}`)
  // wrangler's inspector proxy wants an Origin it knows (a DevTools frontend or localhost). Node's
  // WebSocket (undici) takes headers as a second argument, which the Workers types in scope for
  // this project do not describe; Reflect.construct reaches it without a cast.
  const socket: WebSocket = Reflect.construct(WebSocket, [
    url,
    { headers: { origin: 'http://localhost' } },
  ])
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', reject, { once: true })
  })
  let id = 0
  const waiting = new Map<number, (result: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = Reply.safeParse(JSON.parse(String(event.data)))
    if (message.success && message.data.id !== undefined) {
      waiting.get(message.data.id)?.(message.data.result)
    }
  })
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      id++
      waiting.set(id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  await call('Profiler.enable')
  await call('Profiler.setSamplingInterval', { interval: 500 })
  await call('Profiler.start')
  return {
    async stop(file: string): Promise<string> {
      const { profile } = z.object({ profile: z.unknown() }).parse(await call('Profiler.stop'))
      socket.close()
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, JSON.stringify(profile))
      return file
    },
  }
}

/**
 * Lines: how many samples, then the top functions by self and by inclusive share of the samples
 * that were not idle. Samples are counted, not timed: on a loaded machine a sample's time delta
 * also holds the time the thread was not scheduled, which would land on whatever ran next.
 */
export async function summarise(file: string, top = 20): Promise<string[]> {
  const profile = Profile.parse(JSON.parse(await readFile(file, 'utf8')))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const name = (id: number) => byId.get(id)?.callFrame.functionName || '(anonymous)'

  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let busy = 0
  let idle = 0
  for (const sample of profile.samples) {
    if (name(sample) === '(idle)') {
      idle++
      continue
    }
    busy++
    self.set(name(sample), (self.get(name(sample)) ?? 0) + 1)
    const seen = new Set<string>()
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      if (seen.has(name(id))) continue
      seen.add(name(id))
      inclusive.set(name(id), (inclusive.get(name(id)) ?? 0) + 1)
    }
  }
  const share = (n: number) => `${((n / busy) * 100).toFixed(1).padStart(5)}%`
  const ranked = (map: Map<string, number>) =>
    [...map]
      .filter(([fn]) => fn !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
  const lines = [
    `${busy} samples busy, ${idle} idle; shares of the busy ones.`,
    'self / inclusive:',
  ]
  const left = ranked(self)
  const right = ranked(inclusive)
  for (let i = 0; i < top; i++) {
    const [a, an = 0] = left[i] ?? ['', 0]
    const [b, bn = 0] = right[i] ?? ['', 0]
    lines.push(`  ${share(an)} ${a.padEnd(28)}  ${share(bn)} ${b}`)
  }
  return lines
}
