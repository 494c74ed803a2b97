// A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and
// restored on the same port: the fault tests' database outage (test/reliability/outage.test.ts,
// notifications-outage.test.ts).
import net from 'node:net'

export type CuttableProxy = {
  readonly port: number
  /** stops accepting, then drops every connection */
  cut(): Promise<void>
  /** accepts again, on the same port */
  restore(): Promise<void>
  close(): Promise<void>
}

export async function cuttableProxy(target: URL): Promise<CuttableProxy> {
  const sockets = new Set<net.Socket>()
  let server: net.Server | null = null
  let port = 0
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {})
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port
        resolve()
      })
    })
  // the connections are cut as the server stops: its close waits for every connection to end,
  // and the connections that never go idle (the LISTEN connection, the workers') would keep it
  // waiting forever
  const cut = async () => {
    const srv = server
    server = null
    const closed = new Promise<void>((r) => (srv ? srv.close(() => r()) : r()))
    for (const s of sockets) s.destroy()
    await closed
  }
  await listen()
  return {
    get port() {
      return port
    },
    cut,
    restore: listen,
    close: cut,
  }
}
