/// <reference types="node" />
/**
 * A TypeScript file of the bench in a Node process of its own (forked with tsx), asked over IPC:
 * the sink and the Node client each get one, so that neither shares a thread with the other or
 * with wrangler. The child's first message says it is ready; after that, each `ask` gets exactly
 * one answer, in order, checked against the caller's schema. The child exits with this process.
 */
import { fork } from 'node:child_process'
import type { z } from 'zod'

export type Child<Ready, Answer> = {
  ready: Ready
  ask(message: object): Promise<Answer>
  tell(message: object): void
  stop(): void
}

export async function forkChild<Ready, Answer>(
  file: string,
  schemas: { ready: z.ZodType<Ready>; answer: z.ZodType<Answer> },
  env: Record<string, string> = {},
): Promise<Child<Ready, Answer>> {
  const child = fork(file, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting: { resolve(value: unknown): void; reject(error: Error): void }[] = []
  let exited: Error | undefined
  child.on('message', (message) => waiting.shift()?.resolve(message))
  child.once('exit', (code) => {
    exited = new Error(`${file} exited (${code})`)
    for (const w of waiting.splice(0)) w.reject(exited)
  })
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      if (exited) reject(exited)
      else waiting.push({ resolve, reject })
    })
  const ready = schemas.ready.parse(await next())
  return {
    ready,
    async ask(message) {
      const answer = next()
      child.send(message)
      return schemas.answer.parse(await answer)
    },
    tell(message) {
      child.send(message)
    },
    stop() {
      child.kill()
    },
  }
}
