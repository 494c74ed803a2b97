# syntax=docker/dockerfile:1
# hitask-server images (docs/operations.md, "Docker"):
#
#   docker build -t hitask-server .                                 the server (target runtime, the last stage)
#   docker build --target migrate -t hitask-server-migrate .        the migration job, run before the server
#
# build      the whole install, the row types generated, src/ compiled to dist/
# prod-deps  the production dependencies alone
# migrate    node dist/migrate.js: applies pending migrations to DATABASE_URL and exits
# runtime    node dist/server.js on production dependencies only: no TypeScript, no tsx, no
#            embedded PostgreSQL, no migration engine; it checks at start that the database has
#            every migration (DB_MIGRATIONS=check) and refuses to start otherwise

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: compiling runs none of the native packages, and the Prisma packages'
# own scripts would download engines nothing here uses (prod-deps builds argon2 for the images)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY prisma ./prisma
COPY prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# the typed client: src/seed.ts drives the API through it (its declarations type-check the seed)
COPY clients/typescript ./clients/typescript
# generates the row types into src/generated, then compiles src/ to dist/
RUN npm run build

FROM node:20-bookworm AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci --omit=dev` would still install the Prisma CLI and TypeScript (~250 MB with their
# dependencies): they are optional peers of @prisma/client, and npm keeps a development
# dependency that is also an optional peer of a production one. Installing from the manifest
# without its devDependencies leaves them out; every version still comes from package-lock.json.
RUN node -e "const fs=require('fs');const p=JSON.parse(fs.readFileSync('package.json','utf8'));delete p.devDependencies;fs.writeFileSync('package.json',JSON.stringify(p,null,2))" \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2

# what both images share: production dependencies, the compiled server, and the names of the
# migrations (prisma/migrations: the server checks that the database has applied them all)
FROM node:20-bookworm-slim AS base
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
# dist/seed.js imports the typed client's runtime (openapi-fetch is a production dependency)
COPY clients/typescript/src/index.js ./clients/typescript/src/index.js

# the migration job: the build stage as it is (its node_modules has Prisma's schema engine
# compiled to WebAssembly, the pg driver adapter and the schema), run once before the server
# starts (docker-compose.yml `migrate`); the runtime image has none of it
FROM build AS migrate
ENV NODE_ENV=production
RUN node --input-type=module -e "await (await import('./dist/platform/db/migrations.js')).loadWasm()"
USER node
CMD ["node", "dist/migrate.js"]

FROM base AS runtime
ENV PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    DB_MIGRATIONS=check
# the only writable place: generated secrets, local files
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself as the main process, so SIGTERM reaches the graceful shutdown (npm would not
# forward it)
CMD ["node", "dist/server.js"]
