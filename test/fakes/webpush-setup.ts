/// <reference types="node" />
/**
 * Vitest globalSetup for the `worker` project: runs the fake push service in Node for the whole
 * run and hands its origin to the tests in workerd as `inject('webPushFakeUrl')`.
 */
import type { TestProject } from 'vitest/node'
import { startFakePushService } from './webpush'

export default async function setup({ provide }: TestProject) {
  const fake = await startFakePushService()
  provide('webPushFakeUrl', fake.url)
  return () => fake.close()
}
