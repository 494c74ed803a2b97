// The baseline of bench/items.ts (not part of the server): a bare Fastify + pg process that
// serves the item list and the delta of one user from one SQL query each, serialised with
// JSON.stringify as Fastify does by default: the floor the real routes are compared with.
// Run as a child process by the bench (so its RSS is sampled as the server's is):
//   DATABASE_URL=… PRINCIPALS='["12","<group id>"]' PORT=… tsx bench/baseline-server.ts
import Fastify from 'fastify'
import compress from '@fastify/compress'
import pg from 'pg'
import { baselineRoutes } from './baseline-routes.js'

pg.types.setTypeParser(20, (v) => Number(v))
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, application_name: 'hitask-bench-baseline' })
const principals = JSON.parse(process.env.PRINCIPALS ?? '[]') as string[]
const app = Fastify({ logger: false })
// the same compression as the server (a client that asks for it gets it)
await app.register(compress, { encodings: ['br', 'gzip'], threshold: 1024, customTypes: /^application\/json(;|$)/, globalDecompression: false })

baselineRoutes(app, pool, principals)

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('listening\n')
