// The reliability suite (test/reliability/): authorization, bad input, sync under
// concurrency, faults, load, security. `npm run test:reliability` runs it at the size set by
// RELIABILITY_SCALE (`ci`, the default, fits CI; `full` for the figures of docs/reliability.md).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // one file at a time: the load and fault checks measure a process that must not share
    // the two cores with another check
    maxWorkers: 1,
    testTimeout: 900_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-reliability.json' },
  },
})
