/// <reference types="node" />
/**
 * CPU time of the workerd processes this bench started, and the facts of the machine the figures
 * came from. Linux only (/proc): elsewhere the CPU columns read 0.
 */
import { readdir, readFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import path from 'node:path'

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat, is 100 on Linux. */
const MS_PER_TICK = 10

type Proc = { pid: number; ppid: number; name: string; cpuMs: number }

async function processes(): Promise<Proc[]> {
  const found: Proc[] = []
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    // After the parenthesised name: state ppid ... utime (14th field) stime (15th).
    const match = /^\d+ \((.*)\) (.*)$/.exec(stat.trim())
    if (!match) continue
    const fields = (match[2] ?? '').split(' ')
    const cpuMs = (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK
    found.push({ pid: Number(entry), ppid: Number(fields[1]), name: match[1] ?? '', cpuMs })
  }
  return found
}

/** CPU time (user + system, ms) of the workerd processes descended from this one. */
export async function workerdCpuMs(): Promise<number> {
  const all = await processes()
  const ours = new Set([process.pid])
  // Parents come before children often but not always: repeat until nothing is added.
  for (let grew = true; grew; ) {
    grew = false
    for (const p of all) {
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid)
        grew = true
      }
    }
  }
  return all
    .filter((p) => ours.has(p.pid) && p.name === 'workerd')
    .reduce((sum, p) => sum + p.cpuMs, 0)
}

export type Machine = {
  cores: number
  cpu: string
  memoryGb: number
  node: string
  workerd: string
  wrangler: string
  load: number[]
}

export async function machine(root: string): Promise<Machine> {
  const version = async (pkg: string) => {
    const text = await readFile(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null && 'version' in parsed
      ? String(parsed.version)
      : 'unknown'
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: totalmem() / 2 ** 30,
    node: process.version,
    workerd: await version('workerd'),
    wrangler: await version('wrangler'),
    load: loadavg(),
  }
}
