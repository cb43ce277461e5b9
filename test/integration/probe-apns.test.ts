// `npm run probe:apns` against the fake APNs (test/fakes/apns.ts) run in this process: the CLI
// starts the probe Worker in workerd, which sends one notification through Pushgate's adapter and
// the chosen transport; the fake verifies it as Apple would. Apple itself is out of reach here.
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeApns, startFakeApns } from '../fakes/apns'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs')
const TEAM = { teamId: 'PROBETEAM1', keyId: 'PROBEKEY01', bundleId: 'com.example.probe' }
const TOKEN = '1e2122ba4ccabb8e7a34072cc71cf262470b35cde03f7ee8d78acdf08159e5a9'

let fake: FakeApns
let dir: string
let keyFile: string

beforeAll(async () => {
  fake = await startFakeApns()
  dir = await mkdtemp(path.join(tmpdir(), 'pushgate-probe-'))
  keyFile = path.join(dir, 'AuthKey.p8')
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  // Every probe signs a token of its own; the fake, like Apple, would refuse the second within
  // 20 minutes, which is not what these tests are about.
  await control('POST', '/_teams', {
    ...TEAM,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
    minTokenIntervalS: 0,
  })
})

afterAll(async () => {
  await fake?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function control(method: string, route: string, body?: unknown) {
  const response = await fetch(`${fake.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  expect(response.ok).toBe(true)
  return response.status === 204 || response.status === 201 ? undefined : response.json()
}

type Run = { code: number | null; stdout: string; stderr: string }

function probe(args: string[]): Promise<Run> {
  const keyArgs = ['--key-file', keyFile, '--key-id', TEAM.keyId, '--team-id', TEAM.teamId]
  const child: ChildProcess = spawn(
    process.execPath,
    [tsx, 'scripts/probe-apns.ts', ...keyArgs, '--bundle-id', TEAM.bundleId, ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  // SIGTERM lets the CLI stop its workerd before it exits.
  const timer = setTimeout(() => child.kill('SIGTERM'), 50_000)
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const notifications = async () =>
  (await control('GET', `/_notifications?teamId=${TEAM.teamId}`)) as {
    token: string
    protocol: string
    headers: Record<string, string>
  }[]

describe('npm run probe:apns', () => {
  it('delivers one notification over h2 and prints status, apns-id and reason', async () => {
    const run = await probe(['--endpoint', fake.h2Url, `<${TOKEN.toUpperCase()}>`])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const [received] = (await notifications()).filter((n) => n.protocol === 'h2')
    expect(received?.token).toBe(TOKEN)
    expect(run.stdout).toContain(`status   200\napns-id  ${received?.headers['apns-id']}\n`)
    expect(run.stdout).toContain('reason   (none)\noutcome  delivered\n')
    expect(run.stdout).toMatch(/h2 {7}1 connection\(s\), server MAX_CONCURRENT_STREAMS now 1000\n/)
  })

  it('delivers over fetch to the HTTP/1.1 side', async () => {
    const run = await probe(['--transport', 'fetch', '--endpoint', fake.url, TOKEN])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('status   200\n')
    expect((await notifications()).some((n) => n.protocol === 'http/1.1')).toBe(true)
  })

  it("exits 1 with Apple's reason when the answer is not 200", async () => {
    const gone = 'ab'.repeat(32)
    await control('POST', '/_devices', { token: gone, behaviour: 'unregistered' })
    const run = await probe(['--endpoint', fake.h2Url, gone])
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('status   410\n')
    expect(run.stdout).toContain('reason   Unregistered\noutcome  invalid_token (Unregistered)\n')
  })
})
