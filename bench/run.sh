#!/usr/bin/env bash
# The benchmark suite: builds release binaries, runs the dev sidecar and the five services as
# separate processes (so memory is per service) against a fresh database, measures the Postgres
# ceiling of the create-task transaction with pgbench at the same client counts, then runs the
# load generator. Everything talks to 127.0.0.1 only and stops by itself.
#   bench/run.sh                 # full run (~3 minutes)
#   CLIENTS=8,32 DURATION=10 bench/run.sh
#   SKIP_BUILD=1 bench/run.sh    # reuse the release binaries in target/
#   KEEP_DB=1 bench/run.sh       # keep taskfleet_bench and taskfleet_ceiling afterwards
#   BROKER=redis bench/run.sh    # dapr run's Redis Streams (one delivery at a time) instead of
#                                # Kafka with partitions, as deployed (the default)
#   PARTS=sockets bench/run.sh   # only some of: writes (ceiling, e2e, reminders, create-task),
#                                # reads (read ceiling, list), sockets (10 000 connections on the
#                                # websocket replica, a targeted push, a 10 000-event burst),
#                                # outage (the sidecar down under creates, then the backlog's
#                                # way out; not in the default run)
#   OUTAGE_CLIENTS=32 OUTAGE_DURATION=30 PARTS=outage bench/run.sh
#   SOCKETS=10000 BURST=10000 BURST_USERS=1000 bench/run.sh
#   READ_TASKS=5000 bench/run.sh # tasks of each of the 100 users the reads go to (500)
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS="${CLIENTS:-8,32,256}"
DURATION="${DURATION:-15}"
PARTS=",${PARTS:-writes,reads,sockets},"
part() { [[ "$PARTS" == *",$1,"* ]]; }
# 10 000 sockets are 10 000 descriptors in the websocket service and as many in loadgen, and
# the services and loadgen inherit this shell's limit: lift it to the hard limit.
ulimit -n "$(ulimit -Hn)"
PGHOST=127.0.0.1
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0123"
export DATABASE_URL="postgres://postgres@$PGHOST:5432/taskfleet_bench"
export RUST_LOG="${RUST_LOG:-warn}"
# The production shape: the sidecar and the services share random app and API tokens, as
# daprd and the services do on Kubernetes (the services refuse to start without an app token).
APP_API_TOKEN="$(openssl rand -hex 32)"
DAPR_API_TOKEN="$(openssl rand -hex 32)"
export APP_API_TOKEN DAPR_API_TOKEN
# Web Push on, as the chart deploys notification (its Secret holds the VAPID key): a key of this
# run (32 random bytes, base64url). Every reminder-due event then goes through the push sender.
VAPID_PRIVATE_KEY="$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')"
export VAPID_PRIVATE_KEY
# loadgen drives 100 users at the database's ceiling (~10 writes per user per second): lift the
# per-user write, parse and MCP budgets (ADR 0003), which would otherwise answer 429.
export LIMIT_WRITES_PER_MINUTE=0 LIMIT_PARSE_PER_MINUTE=0 LIMIT_MCP_PER_MINUTE=0
LOGS="$(mktemp -d)"
# Every measured line also goes to the report the summary at the end is computed from.
REPORT="$LOGS/report.txt"
record() { tee -a "$REPORT"; }
# The components: dapr/components, with the pub/sub of the broker asked for.
RESOURCES="$LOGS/components"
mkdir -p "$RESOURCES"
case "${BROKER:-kafka}" in
  # As the chart deploys it on Kafka: audit and websocket take their events in batches
  # (BULK=0 turns that off, to compare).
  kafka) cp dapr/components/{statestore,reminder-cron,resiliency}.yaml bench/kafka/pubsub.yaml "$RESOURCES/"
         if [ "${BULK:-1}" = 1 ]; then export BULK_SUBSCRIBE_MAX_MESSAGES=100; fi ;;
  redis) cp dapr/components/*.yaml "$RESOURCES/" ;;
  *) echo "BROKER must be kafka or redis" >&2; exit 2 ;;
esac
echo "broker: ${BROKER:-kafka}, bulk subscribe: ${BULK_SUBSCRIBE_MAX_MESSAGES:-off}"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # The run's databases go with it (KEEP_DB=1 keeps them to look into).
  if [ "${KEEP_DB:-0}" != 1 ]; then
    for db in taskfleet_bench taskfleet_ceiling; do
      psql -q -h "$PGHOST" -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -q -p backend-api -p websocket -p notification -p audit -p recurring -p dev-sidecar -p loadgen
fi

for db in taskfleet_bench taskfleet_ceiling; do
  psql -q -h $PGHOST -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
done
./target/release/backend-api migrate
DATABASE_URL="postgres://postgres@$PGHOST:5432/taskfleet_ceiling" ./target/release/backend-api migrate

apps=(backend-api:8000:3500 websocket:8001:3501 recurring:8002:3502 notification:8003:3503 audit:8004:3504)
sidecar_args=()
for app in "${apps[@]}"; do sidecar_args+=(--app "$app"); done
./target/release/dev-sidecar --resources "$RESOURCES" "${sidecar_args[@]}" >"$LOGS/dev-sidecar.log" 2>&1 &
PIDS+=($!)
for app in "${apps[@]}"; do
  IFS=: read -r name port sidecar <<<"$app"
  APP_HOST=127.0.0.1 APP_PORT=$port DAPR_HTTP_PORT=$sidecar ./target/release/"$name" >"$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
done
for app in "${apps[@]}"; do
  IFS=: read -r name port _ <<<"$app"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done
sleep 2
echo "== idle memory"
./target/release/loadgen --phases rss-idle

IFS=, read -ra counts <<<"$CLIENTS"
# ceiling LABEL PGBENCH_ARGS...: prints the tps of a pgbench run, and leaves in
# $LOGS/ceiling-cpu.txt the CPU every process used over its middle (its first 2 s and last 2 s
# left out: connecting and disconnecting are not the transaction's cost). The summary sets the
# ceiling's CPU per transaction against the system's per request.
ceiling() {
  local label="$1"; shift
  : >"$LOGS/ceiling-cpu.txt"
  if [ "$DURATION" -ge 6 ]; then
    (sleep 2; ./target/release/loadgen --phases cpu --label "$label" --duration $((DURATION - 4)) >"$LOGS/ceiling-cpu.txt") &
  fi
  pgbench -h $PGHOST -U postgres -n "$@" 2>/dev/null | awk '/^tps/ {print $3}' || true
  wait || true
}
if part writes; then
  echo "== Postgres ceiling of the create-task transaction (pgbench, real schema)"
  for c in "${counts[@]}"; do
    # pgbench needs one connection per client; Postgres allows 100 by default.
    if [ "$c" -gt 64 ]; then echo "ceiling      clients=$c  (skipped: more clients than Postgres connections)" | record; continue; fi
    tps=$(ceiling "ceiling, $c clients" -c "$c" -j 2 -T "$DURATION" -f bench/ceiling/create-real.sql taskfleet_ceiling)
    echo "ceiling      clients=$c  ${tps:-?} tps" | record
    cat "$LOGS/ceiling-cpu.txt" | record
  done

  echo "== load"
  ./target/release/loadgen --secret "$JWT_SECRET" --duration "$DURATION" --e2e-rate 100 --phases e2e | record
  ./target/release/loadgen --secret "$JWT_SECRET" --clients "$CLIENTS" --duration "$DURATION" --phases e2e,reminders,throughput | record
fi

# Waits until every event is published (the relays delete what they publish) and audit (the
# slowest consumer) has recorded every task event, at most 10 minutes; prints how many events
# were behind when it began and how long they took. loadgen never deletes a task, so the task
# events written are the sum of the tasks' versions (a create is version 1, each update or
# completion one more). Writes can be taken faster than their events go out (creates are
# written in groups, each event is published on its own): what a write phase leaves behind is
# part of its result.
wait_for_consumers() {
  local start first="" behind=""
  start=$(date +%s)
  for _ in $(seq 1 600); do
    behind=$(psql -h $PGHOST -U postgres -Atc "SELECT (SELECT count(*) FROM outbox WHERE parked_at IS NULL) + greatest(0, (SELECT coalesce(sum(version), 0) FROM tasks) - (SELECT count(*) FROM audit_log))" taskfleet_bench)
    [ -z "$first" ] && first=$behind
    [ "$behind" = 0 ] && break
    sleep 1
  done
  echo "consumers idle after $(($(date +%s) - start)) s (events behind when the wait began: ${first:-?}, still behind: ${behind:-?})"
}

if part writes; then
  wait_for_consumers | record
fi

if part reads; then
  # The read ceiling: the list query backend-api sends, by pgbench on the read users' tasks
  # (prepared statements, as sqlx uses), while the services idle; then the same read through
  # the API.
  echo "== Postgres ceiling of the list read (pgbench, the query of GET /api/tasks)"
  # Reads are measured on an idle system.
  wait_for_consumers | record
  # The reads go to users of their own with a fixed number of tasks each (READ_TASKS), so the
  # read and its ceiling measure the same thing whatever the write phases left: a quarter
  # completed, a fifth without a due date, due dates spread over the next weeks. Straight into
  # the table (no events): the consumers stay idle.
  psql -q -h $PGHOST -U postgres -v ON_ERROR_STOP=1 taskfleet_bench >/dev/null <<SQL
INSERT INTO tasks (id, user_id, title, description, status, completed_at, priority, tags, due_date)
SELECT gen_random_uuid(), 'read-user-' || u, 'Task ' || left(md5(u || '/' || n), 12), 'some description',
       CASE WHEN n % 4 = 0 THEN 'completed' ELSE 'pending' END, CASE WHEN n % 4 = 0 THEN now() END,
       (ARRAY['low','medium','high'])[1 + n % 3], ARRAY['work','home'],
       CASE WHEN n % 5 <> 0 THEN now() + make_interval(mins => (n * 7919) % 86400) END
FROM generate_series(0, 99) AS u, generate_series(1, ${READ_TASKS:-500}) AS n;
VACUUM ANALYZE tasks;
SQL
  echo "read users: 100 with ${READ_TASKS:-500} tasks each"
  for c in "${counts[@]}"; do
    if [ "$c" -gt 64 ]; then echo "read-ceiling clients=$c  (skipped: more clients than Postgres connections)" | record; continue; fi
    tps=$(ceiling "read-ceiling, $c clients" -M prepared -c "$c" -j 2 -T "$DURATION" -f bench/ceiling/list-real.sql taskfleet_bench)
    echo "read-ceiling clients=$c  ${tps:-?} tps" | record
    cat "$LOGS/ceiling-cpu.txt" | record
  done
  ./target/release/loadgen --secret "$JWT_SECRET" --clients "$CLIENTS" --duration "$DURATION" --phases reads,rss-after | record
fi

if part sockets; then
  echo "== sockets on one websocket replica (open files: $(ulimit -n))"
  ./target/release/loadgen --secret "$JWT_SECRET" --phases sockets \
    --sockets "${SOCKETS:-10000}" --burst "${BURST:-10000}" --burst-users "${BURST_USERS:-1000}" | record
fi

# A sidecar outage under writes: the dev sidecar is stopped (once the consumers are idle: its
# broker lives in its memory), creates go on for OUTAGE_DURATION seconds at OUTAGE_CLIENTS
# clients and their events wait in the outbox, then the sidecar comes back and the backlog is
# timed out of the outbox and into audit. The relays wait up to their longest backoff (10 s)
# before they look again.
if part outage; then
  echo "== a sidecar outage under writes"
  wait_for_consumers >/dev/null
  kill "${PIDS[0]}"
  wait "${PIDS[0]}" 2>/dev/null || true
  ./target/release/loadgen --secret "$JWT_SECRET" --clients "${OUTAGE_CLIENTS:-32}" \
    --duration "${OUTAGE_DURATION:-30}" --phases throughput | sed 's/^create-task /outage-create /' | record
  echo "outbox backlog: $(psql -h $PGHOST -U postgres -Atc "SELECT count(*) FROM outbox" taskfleet_bench) events of $(psql -h $PGHOST -U postgres -Atc "SELECT count(DISTINCT partition_key) FROM outbox" taskfleet_bench) users" | record
  ./target/release/dev-sidecar --resources "$RESOURCES" "${sidecar_args[@]}" >>"$LOGS/dev-sidecar.log" 2>&1 &
  PIDS[0]=$!
  echo -n "after the outage: " | record
  wait_for_consumers | record
fi

# Every row of issue 14's table against its reference in this run.
# Under each throughput row, where its CPU went: the milliseconds of CPU a request cost each
# process, the ceiling's cost a transaction in the same run, and the most this shape could do on
# this machine at that cost, every core busy (loadgen included: it shares the machine).
echo "== summary (each figure against its ceiling in this run)"
awk -v cores="$(nproc)" '
  function clients(field) { sub(/^clients=/, "", field); return field + 0 }
  # "cpu (LABEL)  name N%  name N%  (total N% of M%)" -> cpu_total[LABEL], cpu_parts[LABEL]
  /^cpu \(/ { label = $0; sub(/^cpu \(/, "", label); sub(/\).*/, "", label)
              total = $0; sub(/.*\(total /, "", total); cpu_total[label] = total + 0
              parts = $0; sub(/^cpu \([^)]*\) +/, "", parts); sub(/ +\(total.*/, "", parts)
              cpu_parts[label] = parts }
  # The CPU a request of `rate` a second cost, in ms, in all and per process (the busiest first,
  # those under 0.01 ms left out).
  function pct(item,   f) { split(item, f, / /); return f[2] + 0 }
  function cost(label, rate,   n, i, j, item, tmp, out, ms, f, sep) {
    if (!(label in cpu_total) || rate <= 0) return ""
    n = split(cpu_parts[label], item, /  +/)
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (pct(item[j]) > pct(item[i])) { tmp = item[i]; item[i] = item[j]; item[j] = tmp }
    out = sprintf("%.2f ms (", cpu_total[label] * 10 / rate); sep = ""
    for (i = 1; i <= n; i++) {
      ms = pct(item[i]) * 10 / rate
      if (ms < 0.01) continue
      split(item[i], f, / /); out = out sep sprintf("%s %.2f", f[1], ms); sep = ", "
    }
    return out ")"
  }
  function budget(what, label, rate, ceiling_label, ceiling_tps,   line) {
    line = cost(label, rate)
    if (line == "") return
    line = sprintf("    cpu a %s: %s", what, line)
    if (ceiling_label in cpu_total) line = line sprintf("; the ceiling'"'"'s a transaction: %s", cost(ceiling_label, ceiling_tps))
    print line
    line = sprintf("    every core busy at that cost: at most %.0f req/s", rate * cores * 100 / cpu_total[label])
    if (ceiling_tps > 0) line = line sprintf(", %.0f%% of the ceiling", 100 * rate * cores * 100 / cpu_total[label] / ceiling_tps)
    print line
  }
  /^ceiling +clients=/ && $3 + 0 > 0 { ceiling[clients($2)] = $3 }
  /^read-ceiling +clients=/ && $3 + 0 > 0 { read_ceiling[clients($2)] = $3 }
  /^create-task +clients=/ { c = clients($2); creates[++n] = c; create[c] = $3; p50[c] = $6; p99[c] = $9
                             if ($3 > peak) { peak = $3; peak_at = c } }
  /^list-rest +clients=/ { c = clients($2); lists[++m] = c; list[c] = $3; list_p99[c] = $9 }
  /^event end-to-end|^  of which after|^reminder lateness|^push to one user|^burst of|^sockets +[0-9]|^rss \([0-9]+ sockets open\) +websocket/ { other[++k] = $0 }
  END {
    for (i = 1; i <= n; i++) {
      c = creates[i]
      line = sprintf("create-task  clients=%-4d %6.0f req/s, p50 %s ms, p99 %s ms", c, create[c], p50[c], p99[c])
      if (c in ceiling) line = line sprintf(": %.0f%% of the ceiling (%.0f tps)", 100 * create[c] / ceiling[c], ceiling[c])
      else line = line sprintf(": %.0f%% of the peak (%.0f req/s at %d clients), p99/p50 %.1f", 100 * create[c] / peak, peak, peak_at, p99[c] / p50[c])
      print line
      budget("create", "create-task, " c " clients", create[c], "ceiling, " c " clients", ceiling[c])
    }
    for (i = 1; i <= m; i++) {
      c = lists[i]
      line = sprintf("list-rest    clients=%-4d %6.0f req/s, p99 %s ms", c, list[c], list_p99[c])
      if (c in read_ceiling) line = line sprintf(": %.0f%% of the read ceiling (%.0f tps)", 100 * list[c] / read_ceiling[c], read_ceiling[c])
      print line
      budget("list", "list-rest, " c " clients", list[c], "read-ceiling, " c " clients", read_ceiling[c])
    }
    for (i = 1; i <= k; i++) print other[i]
  }' "$REPORT"
echo "logs: $LOGS"
