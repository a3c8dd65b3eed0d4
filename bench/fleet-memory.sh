#!/usr/bin/env bash
# The embedded default's memory under a long run (reliability issue: `fleet` below 100 MB after
# 200 000 events): builds release `fleet` and `loadgen`, starts fleet on a fresh database, then
# creates tasks at 32 clients until EVENTS events went through, printing fleet's RSS after every
# 20-second step. Talks to 127.0.0.1 only and stops by itself.
#   bench/fleet-memory.sh                  # 200 000 events (~8 minutes on 2 cores, then up to 10
#                                          # for the consumers to catch up)
#   EVENTS=50000 bench/fleet-memory.sh
#   SKIP_BUILD=1 bench/fleet-memory.sh     # reuse the release binaries in target/
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${EVENTS:-200000}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0123"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/taskfleet_memory"
export RUST_LOG="${RUST_LOG:-warn}"
# The API alone: the UI is not part of the measure.
export FLEET_UI=0
# 100 users at full speed: lift the per-user budgets (ADR 0003) that would answer 429.
export LIMIT_WRITES_PER_MINUTE=0 LIMIT_PARSE_PER_MINUTE=0 LIMIT_MCP_PER_MINUTE=0
LOG="$(mktemp)"
FLEET_PID=""
cleanup() {
  [ -n "$FLEET_PID" ] && kill "$FLEET_PID" 2>/dev/null && wait "$FLEET_PID" 2>/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS taskfleet_memory WITH (FORCE)" >/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -q -p fleet -p loadgen
fi
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS taskfleet_memory WITH (FORCE)" >/dev/null
./target/release/fleet >"$LOG" 2>&1 &
FLEET_PID=$!
for _ in $(seq 1 200); do curl -sf http://127.0.0.1:8000/readyz >/dev/null && break; sleep 0.1; done
sleep 2
./target/release/loadgen --secret "$JWT_SECRET" --clients 32 --events "$EVENTS" --phases rss-idle,soak
echo "== after the consumers caught up"
# Caught up: nothing left in the outbox (the relays delete what they publish) and one audit
# entry per task event (loadgen never deletes, so those are the sum of the tasks' versions).
for _ in $(seq 1 120); do
  pending=$(psql -h 127.0.0.1 -U postgres -At -d taskfleet_memory -c \
    "SELECT (SELECT count(*) FROM outbox) + greatest(0, (SELECT coalesce(sum(version), 0) FROM tasks) - (SELECT count(*) FROM audit_log))")
  [ "$pending" = 0 ] && break
  sleep 5
done
echo "events not yet published or audited: $pending"
psql -h 127.0.0.1 -U postgres -At -d taskfleet_memory -c "SELECT 'events in the outbox: ' || count(*) FROM outbox"
./target/release/loadgen --phases rss-after
