// Run before `npm start` and `npm test`: on a fresh clone, installs the dependencies
// (`npm ci`) and generates the Prisma client, so the README's two commands work alone.
// With --build (npm start): builds dist/ when it is missing or older than the sources.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
// only when there is no node_modules at all (a worktree may link to another's)
if (!fs.existsSync('node_modules')) {
  console.log('node_modules missing: running npm ci')
  const r = spawnSync(npm, ['ci'], { stdio: 'inherit', shell: process.platform === 'win32' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
if (!fs.existsSync('src/generated/db-rows.ts') && fs.existsSync('src')) {
  const r = spawnSync(process.execPath, ['scripts/prisma-generate.mjs'], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

if (process.argv.includes('--build')) {
  const stamp = 'dist/.build-stamp'
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0
  /** the newest modification time under `p` (a file or a folder) */
  const newest = (p) => {
    if (!fs.existsSync(p)) return 0
    const st = fs.statSync(p)
    if (!st.isDirectory()) return st.mtimeMs
    let m = st.mtimeMs // a deleted file changes its folder
    for (const e of fs.readdirSync(p)) m = Math.max(m, newest(path.join(p, e)))
    return m
  }
  const inputs = ['src', 'prisma/schema.prisma', 'tsconfig.json', 'tsconfig.build.json', 'package.json']
  const why = !built ? 'dist/ is missing' : inputs.some((p) => newest(p) > built) ? 'the sources changed since the last build' : null
  // an installation without the sources (a production image) runs what it has
  if (why && fs.existsSync('src')) {
    console.log(`${why}: building (npm run build)`)
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
    if (r.status !== 0) process.exit(r.status ?? 1)
  }
}
