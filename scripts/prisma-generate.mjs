// Runs `prisma generate` without the internet. The Prisma 7 CLI tries to download its
// Rust schema engine before any command; pointing PRISMA_SCHEMA_ENGINE_BINARY at an
// existing file skips that, and `generate` itself does not need the engine.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let cli
try {
  cli = require.resolve('prisma/build/index.js')
} catch {
  console.error('prisma is not installed yet; skipping generate')
  process.exit(0)
}
if (!existsSync('prisma/schema.prisma')) process.exit(0)
const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' }
const r = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env })
process.exit(r.status ?? 1)
