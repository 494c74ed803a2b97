// Tasks with the same key, one after another, in this process. An upload's transaction waits
// on its quota counter's row lock while holding a pool connection: a burst of uploads
// charged to one counter would fill the pool with transactions waiting on that one lock, and
// every other request would queue behind them for a connection. Waiting here instead costs
// no connection. The row lock stays the rule (other instances, restore-as-a-copy): this only
// keeps one process from spending its pool on waiting for it.

export class SerialQueues {
  /** per key: settles when the last task queued so far has settled */
  private readonly tails = new Map<string, Promise<void>>()

  /**
   * Runs `task` once every earlier task with `key` has settled, or after `maxWaitMs` at the
   * latest (then it runs beside them: a stuck task never holds the others longer than that).
   */
  async run<T>(key: string, maxWaitMs: number, task: () => Promise<T>): Promise<T> {
    const earlier = this.tails.get(key)
    let settled!: () => void
    const mine = new Promise<void>((resolve) => (settled = resolve))
    const tail = earlier ? earlier.then(() => mine) : mine
    this.tails.set(key, tail)
    try {
      if (earlier) await waitAtMost(earlier, maxWaitMs)
      return await task()
    } finally {
      settled()
      // the last of its key: forget the key (the map holds only keys with tasks in flight)
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}

async function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}
