// The one LISTEN connection of an instance (docs/architecture.md "One LISTEN connection per
// instance"): the live channel and the outbox drainer share it; when its backend is terminated
// both are listening again after the reconnect, on one connection again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from './helpers/app.js'
import { createNotifyApp, until } from './helpers/notify.js'
import { itemsApi } from './items-helpers.js'
import { liveHub } from '../src/live/hub.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>

beforeAll(async () => {
  t = await createNotifyApp({ smtp: false, env: { LIVE_CHECK_MS: '300', LIVE_RECONNECT_MS: '50' } })
  api = itemsApi(t)
})
afterAll(async () => {
  await t?.close()
})

/** the backends of this instance's LISTEN connection (application_name hitask-server-listen) */
async function listenBackends(): Promise<number[]> {
  const r = await t.db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hitask-server-listen' ORDER BY pid`,
  )
  return r.rows.map((x) => x.pid)
}

const outboxRows = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_events')).rows[0]!.n

/** a change is heard on both channels: the hub counts its notification, the outbox is drained without being asked */
async function expectBothChannelsHeard(title: string) {
  const hub = liveHub(t.deps)
  const before = hub.stats.notifications
  const u = await t.signup()
  await api.create(u, { title })
  await until('the live hub to hear the change', () => hub.stats.notifications > before, 5000)
  await until('the outbox to be drained (woken by its notification)', async () => (await outboxRows()) === 0, 5000)
}

describe('one LISTEN connection per instance', () => {
  it('the live channel and the outbox drainer share one connection; after pg_terminate_backend both hear commits again, still on one', async () => {
    const hub = liveHub(t.deps)
    await until('the instance to listen', () => hub.connected && t.db.listener.connected, 5000)
    const first = await listenBackends()
    expect(first).toHaveLength(1)
    await expectBothChannelsHeard('before')

    const lost = t.db.listener.stats.losses
    await t.db.query('SELECT pg_terminate_backend($1)', [first[0]])
    await until('the connection to be lost', () => t.db.listener.stats.losses > lost, 5000)
    await until('the instance to listen again', () => hub.connected, 5000)
    const second = await listenBackends()
    expect(second).toHaveLength(1)
    expect(second[0]).not.toBe(first[0])
    expect(hub.stats.reconnects).toBeGreaterThanOrEqual(1)
    await expectBothChannelsHeard('after')
  })
})
