// Benchmark of the job queue as the server runs it (src/notifications/jobs.ts: pg-boss 10 on
// the server's pool), not a test. On a fresh database it measures:
//   idle       statements a second from an instance with the server's ten queues and no work
//   latency    from the sending transaction's commit to the handler's start: woken locally
//              (same instance), and picked up by another instance's poll
//   throughput no-op jobs a second with three instances working one queue, and that each
//              job ran exactly once
// Usage: npx tsx bench/jobs.ts   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres)
import pino from 'pino'
import { connectDb, type Db } from '../src/platform/db/pool.js'
import { Jobs, type QueueSpec } from '../src/notifications/jobs.js'
import { percentile, runMain, scratchDatabase, sleep } from './scratch-db.js'

const POLL = Number(process.env.JOBS_POLL_SECONDS ?? 2)
const N = Number(process.env.BENCH_JOBS ?? 3000)
const log = pino({ level: 'warn' }) as any


const SERVER_QUEUES: QueueSpec[] = [
  'outbox.sweep', 'notify.flush', 'reminder.fire', 'reminder.reconcile', 'summary.scan', 'summary.user', 'mail.send', 'push.send', 'webhook.deliver', 'maintenance.prune',
].map((name) => ({ name, concurrency: ['mail.send', 'push.send', 'notify.flush', 'reminder.fire', 'summary.user'].includes(name) ? 2 : name === 'webhook.deliver' ? 4 : 1 }))

async function main() {
  const { url, drop } = await scratchDatabase('hitask_bench_jobs_')
  const dbs: Db[] = []
  const jobsList: Jobs[] = []
  const instance = async (queues: QueueSpec[]) => {
    const db = connectDb(url, { max: 10 })
    dbs.push(db)
    const j = new Jobs(db, { log, pollSeconds: POLL })
    await j.start(queues)
    jobsList.push(j)
    return { db, j }
  }
  try {
    // ---- idle
    {
      const { db, j } = await instance(SERVER_QUEUES)
      for (const q of SERVER_QUEUES) await j.work(q.name, async () => {})
      await sleep(3000)
      let n = 0
      const off = db.observe(() => n++)
      await sleep(20_000)
      off()
      console.log(`idle: ${(n / 20).toFixed(1)} statements/s with ${SERVER_QUEUES.reduce((s, q) => s + (q.concurrency ?? 1), 0)} fetch loops (poll ${POLL} s)`)
      await j.stop(2000)
    }

    // ---- latency
    const spec: QueueSpec = { name: 'bench', concurrency: 2, batchSize: 20, retryLimit: 0 }
    {
      const { db, j } = await instance([spec])
      const committed = new Map<string, number>()
      const lat: number[] = []
      await j.work<{ k: string }>('bench', async ({ data }) => {
        const t = committed.get(data.k)
        if (t !== undefined) lat.push(performance.now() - t)
      })
      for (let i = 0; i < 200; i++) {
        const k = `l${i}`
        await db.tx(async (tx) => {
          await j.send(tx, 'bench', { k })
          tx.afterCommit(() => void committed.set(k, performance.now()))
        })
        await sleep(20)
      }
      await sleep(POLL * 1000 + 1000)
      console.log(`latency, same instance (woken at commit): p50 ${percentile(lat, 50).toFixed(1)} ms, p95 ${percentile(lat, 95).toFixed(1)} ms, n=${lat.length}`)
      await j.stop(2000)
    }
    {
      const sender = await instance([spec])
      const worker = await instance([spec])
      const committed = new Map<string, number>()
      const lat: number[] = []
      await worker.j.work<{ k: string }>('bench', async ({ data }) => {
        const t = committed.get(data.k)
        if (t !== undefined) lat.push(performance.now() - t)
      })
      for (let i = 0; i < 60; i++) {
        const k = `r${i}`
        await sender.db.tx(async (tx) => {
          await sender.j.send(tx, 'bench', { k })
          tx.afterCommit(() => void committed.set(k, performance.now()))
        })
        await sleep(97)
      }
      await sleep(POLL * 1000 + 1000)
      console.log(`latency, another instance (its poll): p50 ${percentile(lat, 50).toFixed(0)} ms, p95 ${percentile(lat, 95).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms, n=${lat.length}`)
      await sender.j.stop(2000)
      await worker.j.stop(2000)
    }

    // ---- throughput and exactly once, three instances
    {
      const runs = new Map<number, number>()
      const workers = [await instance([spec]), await instance([spec]), await instance([spec])]
      const sender = workers[0]!
      await sender.db.tx(async (tx) => {
        for (let i = 0; i < N; i++) await sender.j.send(tx, 'bench', { i })
      })
      const t0 = performance.now()
      for (const w of workers) await w.j.work<{ i: number }>('bench', async ({ data }) => void runs.set(data.i, (runs.get(data.i) ?? 0) + 1))
      while ([...runs.values()].length < N && performance.now() - t0 < 300_000) await sleep(50)
      const secs = (performance.now() - t0) / 1000
      const twice = [...runs.values()].filter((n) => n > 1).length
      console.log(`throughput: ${N} no-op jobs in ${secs.toFixed(1)} s = ${(N / secs).toFixed(0)} jobs/s (3 instances × 2 loops × batch 20); ran twice: ${twice}, missing: ${N - runs.size}`)
    }
  } finally {
    for (const j of jobsList) await j.stop(1000).catch(() => {})
    for (const db of dbs) await db.close()
    await drop()
  }
}

runMain(import.meta.url, main, { exitAfter: true })
