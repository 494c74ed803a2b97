import { defineConfig } from 'prisma/config'

// DATABASE_URL may be unset (embedded database, or `prisma generate` on a fresh clone):
// env('DATABASE_URL') would throw, so read process.env directly.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
})
