# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript.
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, compiled code, non-root.
FROM node:26-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY mappings ./mappings
COPY profiles ./profiles
USER node
EXPOSE 8103
ENTRYPOINT ["node", "bin/hfu.js"]
CMD ["fhir-server", "--host", "0.0.0.0"]
