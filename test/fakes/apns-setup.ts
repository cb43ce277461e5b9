/**
 * Vitest global setup: starts the fake APNs (test/fakes/apns.ts) in Node before the worker tests
 * and hands its two origins to them: `inject('apnsUrl')` (HTTP/1.1, for the fetch transport) and
 * `inject('apnsH2Url')` (HTTP/2 prior knowledge, for the h2 transport).
 */
import type { TestProject } from 'vitest/node'
import { startFakeApns } from './apns'

export default async function setup(project: TestProject) {
  const fake = await startFakeApns()
  project.provide('apnsUrl', fake.url)
  project.provide('apnsH2Url', fake.h2Url)
  return () => fake.close()
}
