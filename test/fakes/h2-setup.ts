/// <reference types="node" />
/**
 * Vitest globalSetup for the `worker` project: runs the control server of the fake HTTP/2 servers
 * (test/fakes/h2.ts) in Node for the whole run and hands its origin to the tests in workerd as
 * `inject('h2FakeUrl')`.
 */
import type { TestProject } from 'vitest/node'
import { startFakeH2 } from './h2'

export default async function setup({ provide }: TestProject) {
  const fake = await startFakeH2()
  provide('h2FakeUrl', fake.url)
  return () => fake.close()
}
