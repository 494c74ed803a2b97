// `npm start` with no configuration: the real process, an embedded PostgreSQL in DATA_DIR,
// a generated API key, and GET /api/user/authenticate answered from that database.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-embedded-start-'))
fs.chmodSync(dir, 0o755) // the embedded server runs as a `postgres` user when we are root
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port
      s.close(() => resolve(p))
    })
  })
}

describe('npm start with no configuration', () => {
  it('runs on an embedded PostgreSQL and answers authenticate', async () => {
    const port = await freePort()
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'warn' }
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    try {
      const base = `http://127.0.0.1:${port}`
      const deadline = Date.now() + 90_000
      for (;;) {
        try {
          if ((await fetch(`${base}/health`)).ok) break
        } catch {}
        if (Date.now() > deadline || child.exitCode !== null) throw new Error('server did not start:\n' + out)
        await new Promise((r) => setTimeout(r, 250))
      }
      expect(out).toContain('embedded PostgreSQL')
      expect(fs.existsSync(path.join(dir, 'data', 'postgres', 'PG_VERSION'))).toBe(true)
      const apiKey = fs.readFileSync(path.join(dir, 'data', 'api-key'), 'utf8').trim()
      expect(out).toContain(apiKey)
      const form = new URLSearchParams({ login: 'firsttry', email: 'first@example.com', password: 'first-try-pass', firstName: 'First', lastName: 'Try', api_key: apiKey })
      const signup = await fetch(`${base}/api/user/signup`, { method: 'POST', body: form })
      expect(signup.status).toBe(200)
      const auth = await fetch(`${base}/api/user/authenticate?login=firsttry&password=first-try-pass&api_key=${apiKey}`)
      expect(auth.status).toBe(200)
      const body = (await auth.json()) as { login_id: string; session_id: string }
      expect(body.login_id).toBe('firsttry')
      const wrong = await fetch(`${base}/api/user/authenticate?login=firsttry&password=nope-nope&api_key=${apiKey}`)
      expect(wrong.status).toBe(403)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 120_000)
})
