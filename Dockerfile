# syntax=docker/dockerfile:1
# The Fastify chat example (examples/fastify-chat), with the AI Kit packages built from this
# repository. Build from the repository root:  docker build -t aikit-fastify-chat .
# Run it with docker-compose.yml (app + Redis), or alone:  docker run -p 3000:3000 aikit-fastify-chat

FROM node:20-bookworm-slim AS build
WORKDIR /repo
RUN npm install -g pnpm@10.34.9
COPY . .
# Only the example, the packages it uses, and the root (the build tools: tsup, turbo, typescript).
RUN pnpm install --frozen-lockfile --filter "@aikit/example-fastify-chat..." --filter aikit-monorepo
RUN pnpm exec turbo run build --filter "@aikit/example-fastify-chat..." --output-logs=errors-only

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /repo
COPY --from=build --chown=node:node /repo /repo
USER node
EXPOSE 3000
# node:*-slim has no curl: ask /readyz with Node's own fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (server.mjs shuts down gracefully).
CMD ["node", "examples/fastify-chat/server.mjs"]
