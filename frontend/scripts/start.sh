#!/usr/bin/env bash
# Starts the taskfleet UI on http://127.0.0.1:${PORT:-3000}.
#   first use: `npm ci` (from package-lock.json), then `next build`;
#   later: rebuilds only when a source file or the lockfile changed;
#   then the production server (`node .next/standalone/server.js`, i.e. `next start -p $PORT`). Better Auth's tables are created/updated in DATABASE_URL when the server
#   starts (instrumentation.ts → getMigrations), before the first request is served.
# Env: DATABASE_URL, BETTER_AUTH_SECRET (if unset, one is generated once into
# frontend/.better-auth-secret), TASKFLEET_ENV, BETTER_AUTH_URL, BACKEND_API_URL, NOTIFICATION_URL, AUDIT_URL,
# WEBSOCKET_URL, DAPR_HTTP_PORT, REALTIME_URL, PORT, HOST — see frontend/.env.example.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

log() { echo "[frontend] $*" >&2; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -z "${BETTER_AUTH_SECRET:-}" ]; then
  if [ ! -s .better-auth-secret ]; then
    (umask 077; node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' > .better-auth-secret)
    log "generated a Better Auth secret in frontend/.better-auth-secret (set BETTER_AUTH_SECRET to choose your own)"
  fi
  BETTER_AUTH_SECRET="$(cat .better-auth-secret)"
  export BETTER_AUTH_SECRET
fi

stale=""
if [ ! -f .next/BUILD_ID ]; then
  stale="no build yet"
elif [ -n "$(find app components hooks lib public instrumentation.ts proxy.ts next.config.ts postcss.config.mjs package-lock.json tsconfig.json -newer .next/BUILD_ID -print -quit 2>/dev/null)" ]; then
  stale="sources changed"
fi
if [ -n "$stale" ]; then
  log "building ($stale)…"
  ./scripts/build-standalone
fi

# `next start` warns that it does not support output: "standalone"; run the standalone server
# (the same Next.js production server, `next start -p $PORT` equivalent) instead.
export HOSTNAME="${HOST:-127.0.0.1}" PORT="${PORT:-3000}" NODE_ENV=production
log "starting on http://${HOSTNAME}:${PORT}"
exec node .next/standalone/server.js
