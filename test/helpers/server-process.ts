// The real server process (`node --import tsx`, src/serve.ts) on a free port, for tests that
// need a process (signals, SIGKILL, two instances, memory): started on a given database and
// data folder, resolved once it listens. Every process started here is SIGKILLed by
// `killAll()` (call it in afterAll: a failed test may leave one running).
//
// Unless `checked: false`, the process runs the suite's response check (checked-server.ts):
// kill() and stop() throw when an answer broke its route's declared schema or codes. Benchmarks
// and the memory and streaming tests run unchecked: the check reads each streamed answer whole.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { API_KEY, formEncode } from './wire.js'
import { CHECKED, VIOLATION } from './violation.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const started: ChildProcess[] = []
const tempDirs: string[] = []

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/** a temporary data folder, removed by killAll() */
export function tempDataDir(prefix = 'hitask-proc-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tempDirs.push(d)
  return d
}

export type ServerProcess = {
  proc: ChildProcess
  pid: number
  port: number
  /** http://127.0.0.1:port */
  base: string
  dataDir: string
  output: () => string
  waitFor: (text: string) => Promise<void>
  exited: Promise<number | null>
  /** SIGKILL, resolved once the process is gone; throws on response-check violations */
  kill: () => Promise<void>
  /** SIGTERM (graceful), resolved with the exit code; throws on response-check violations */
  stop: () => Promise<number | null>
}

/**
 * Starts the server on `databaseUrl` (NODE_ENV=test, API_KEYS=API_KEY, a new data folder
 * unless `dataDir` is given, the port unless `port` is given). `env` adds or overrides;
 * `checked: false` runs src/server.ts itself, without the response check.
 */
export async function startServer(o: { databaseUrl: string; dataDir?: string; port?: number; env?: Record<string, string>; nodeArgs?: string[]; checked?: boolean }): Promise<ServerProcess> {
  const port = o.port ?? (await freePort())
  const dataDir = o.dataDir ?? tempDataDir()
  const entry = o.checked === false ? 'src/server.ts' : 'test/helpers/checked-server.ts'
  const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: o.databaseUrl, PORT: String(port), HOST: '127.0.0.1', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  started.push(proc)
  let out = ''
  let partial = ''
  const violations: string[] = []
  const waiters: { text: string; resolve: () => void }[] = []
  const onData = (b: Buffer) => {
    const text = b.toString()
    out += text
    // whole lines, so a violation split across chunks is still seen (and kept past the trim)
    const lines = (partial + text).split('\n')
    partial = lines.pop()!
    for (const l of lines) if (l.startsWith(`${VIOLATION} `)) violations.push(l)
    // a long run logs a line per request: keep the tail only
    if (out.length > 4_000_000) out = out.slice(-1_000_000)
    for (const w of [...waiters]) {
      if (!out.includes(w.text)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  proc.stdout!.on('data', onData)
  proc.stderr!.on('data', onData)
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (out.includes(text)) return resolve()
      waiters.push({ text, resolve })
      void exited.then(() => reject(new Error(`server exited before "${text}":\n${out.slice(-5000)}`)))
    })
  const noViolations = () => {
    if (violations.length) throw new Error(`the server's answers broke their routes' declared responses:\n${violations.slice(0, 10).join('\n')}`)
  }
  await untilHealthy(`http://127.0.0.1:${port}`, exited, () => out)
  if (o.checked !== false && !out.includes(CHECKED)) throw new Error(`the server process runs without the response check:\n${out.slice(-2000)}`)
  return {
    proc,
    pid: proc.pid!,
    port,
    base: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => out,
    waitFor,
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
      noViolations()
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      const code = await exited
      noViolations()
      return code
    },
  }
}

/** polls /health (whatever LOG_LEVEL says) until it answers, or fails if the process exits */
async function untilHealthy(base: string, exited: Promise<number | null>, out: () => string) {
  let gone = false
  void exited.then(() => (gone = true))
  const deadline = Date.now() + 90_000
  while (!gone && Date.now() < deadline) {
    try {
      if ((await fetch(base + '/health')).ok) return
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`server at ${base} did not become healthy:\n${out().slice(-5000)}`)
}

/** SIGKILLs every process still running and removes the temporary data folders */
export async function killAll() {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
}

/** resident memory of a process in bytes (VmRSS of /proc/<pid>/status) */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for ${pid}`)
  return Number(m[1]) * 1024
}

export type HttpAnswer = { status: number; headers: Headers; body: any; text: string }

/**
 * A client of a real server: `call(method, path, {session, form, body})` over HTTP (fetch),
 * the JSON parsed when there is some; `signup()` as in test/helpers/app.ts.
 */
export function httpClient(base: string) {
  const call = async (method: string, url: string, o: { session?: string; form?: Record<string, unknown>; body?: RequestInit['body']; headers?: Record<string, string> } = {}): Promise<HttpAnswer> => {
    const headers: Record<string, string> = { ...o.headers }
    if (o.session) headers['x-hi-session'] = o.session
    let body: RequestInit['body'] | undefined = o.body
    if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = formEncode(o.form)
    }
    const r = await fetch(base + url, { method, headers, body })
    const text = await r.text()
    let json: any = undefined
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      /* not JSON */
    }
    return { status: r.status, headers: r.headers, body: json, text }
  }
  const signup = async (login = 'u' + Math.random().toString(36).slice(2, 10)) => {
    const r = await call('POST', '/api/user/signup', {
      form: { login, email: `${login}@example.com`, password: 'password123', firstName: 'First' + login, lastName: 'Last', api_key: API_KEY },
    })
    if (r.status !== 200) throw new Error(`signup failed: ${r.status} ${r.text}`)
    return { id: r.body.id as number, session: r.body.session_id as string, login }
  }
  return { base, call, signup }
}
