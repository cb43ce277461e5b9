/**
 * Vitest global setup: starts the fake FCM (token endpoint and messages:send) in Node before the
 * worker tests and hands its base URL to them as `inject('fcmUrl')`.
 */
import type { TestProject } from 'vitest/node'
import { startFakeFcm } from './fcm'

export default async function setup(project: TestProject) {
  const fake = await startFakeFcm()
  project.provide('fcmUrl', fake.url)
  return () => fake.close()
}
