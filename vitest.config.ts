import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 4,
    // generous: a timeout here is a hang detector, not a speed check (performance is measured in
    // bench/); a cold first start of the embedded PostgreSQL, or a CI machine busier than a
    // developer's, took tests that need 10–20 s here past a 30 s limit
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
})
