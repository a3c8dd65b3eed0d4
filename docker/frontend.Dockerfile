# syntax=docker/dockerfile:1
# The Next.js frontend (frontend/, issue 5) as a standalone server: next.config must set
# `output: "standalone"`, which traces the server's dependencies into .next/standalone so the
# runtime image carries no node_modules tree beyond them.
#
#   docker build -f docker/frontend.Dockerfile -t taskfleet/frontend:dev .
#
# One image for every host: where browsers open their realtime connection is the run-time
# setting REALTIME_URL (the chart sets it), and the CSP follows it (frontend/proxy.ts).

FROM node:20-slim AS deps
WORKDIR /app
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci

FROM node:20-slim AS build
WORKDIR /app
# `next build` loads instrumentation.ts, which migrates Better Auth's tables unless told not to:
# there is no database in an image build (the runtime stage migrates at start, as it should).
ENV NEXT_TELEMETRY_DISABLED=1 SKIP_AUTH_MIGRATIONS=1
COPY --from=deps /app/node_modules ./node_modules
COPY frontend/ ./
RUN npm run build

FROM node:20-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 HOSTNAME=0.0.0.0
RUN groupadd --system --gid 1001 nextjs && useradd --system --uid 1001 --gid nextjs nextjs
COPY --from=build --chown=1001:1001 /app/public ./public
COPY --from=build --chown=1001:1001 /app/.next/standalone ./
COPY --from=build --chown=1001:1001 /app/.next/static ./.next/static
USER 1001
EXPOSE 3000
CMD ["node", "server.js"]
