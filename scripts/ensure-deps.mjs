// Run before `npm start` and `npm test`: on a fresh clone, installs the dependencies
// (`npm ci`) and generates the Prisma client, so the README's two commands work alone.
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
// only when there is no node_modules at all (a worktree may link to another's)
if (!existsSync('node_modules')) {
  console.log('node_modules missing: running npm ci')
  const r = spawnSync(npm, ['ci'], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
if (!existsSync('src/generated/prisma/client.ts')) {
  const r = spawnSync(process.execPath, ['scripts/prisma-generate.mjs'], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
