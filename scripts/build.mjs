// npm run build: src/ compiled to JavaScript in dist/ (tsconfig.build.json), from scratch.
// The row types are generated first (src/generated/db-rows.ts, from prisma/schema.prisma; types
// only, nothing of it runs). dist/.build-stamp marks a complete build: `npm start`
// rebuilds when it is missing or older than the sources (scripts/ensure-deps.mjs).
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'

const require = createRequire(import.meta.url)
const run = (args) => {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  console.error('typescript is not installed (a development dependency): run `npm ci` to build')
  process.exit(1)
}
run(['scripts/prisma-generate.mjs'])
fs.rmSync('dist', { recursive: true, force: true })
const started = Date.now()
run([tsc, '-p', 'tsconfig.build.json'])
fs.writeFileSync('dist/.build-stamp', new Date().toISOString() + '\n')
console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`)
