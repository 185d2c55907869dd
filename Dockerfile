# syntax=docker/dockerfile:1
# hfu-connector: `hfu serve` (API, scheduler, FHIR Subscription notifications). See README, "Running it in a container".

# Build stage: all dependencies, compile TypeScript. Scripts are skipped (`prepare` would build before src is here).
FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, the compiled code and the data files it reads, run as `node`.
FROM node:26-trixie-slim
ENV NODE_ENV=production \
    HFU_SERVICE__HOST=0.0.0.0 \
    HFU_SERVICE__PORT=8080 \
    HFU_LOG__FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY mappings ./mappings
COPY measures ./measures
COPY profiles ./profiles
COPY programmes ./programmes
COPY questionnaires ./questionnaires
COPY src/pages/web ./src/pages/web
USER node
EXPOSE 8080
# Liveness only (/health): readiness (/ready) depends on the FHIR endpoint and belongs to the orchestrator's probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HFU_SERVICE__PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (docker stop): the run in progress finishes its transaction, then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/hfu.js"]
CMD ["serve"]
