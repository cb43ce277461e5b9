import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// Two projects: `worker` runs inside workerd with the real migrations applied to a local D1;
// `integration` runs in Node and drives a real `wrangler dev` with real UPS client libraries.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: 'test-admin-token',
                CREDENTIALS_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
                TEST_MIGRATIONS: await readD1Migrations(
                  path.join(import.meta.dirname, 'migrations'),
                ),
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          setupFiles: ['./test/apply-migrations.ts'],
          // Pipeline tests drain whole sends through the fakes; on a loaded 2-core machine a few
          // take longer than vitest's default 5 s without anything being wrong.
          testTimeout: 30_000,
          globalSetup: [
            './test/fakes/webpush-setup.ts',
            './test/fakes/fcm-setup.ts',
            './test/fakes/apns-setup.ts',
            './test/fakes/h2-setup.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          environment: 'node',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
