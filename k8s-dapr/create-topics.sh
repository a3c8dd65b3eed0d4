#!/usr/bin/env bash
# Creates every topic of topics.txt in the Redpanda of START.md (namespace redpanda, pod
# redpanda-0) with rpk. Idempotent: topics that exist are reported and left alone.
# Partitions: 3 >= the replicas of the busiest competing consumer (notification: 2).
set -euo pipefail
cd "$(dirname "$0")"
ns="${REDPANDA_NAMESPACE:-redpanda}"
partitions="${PARTITIONS:-3}"
mapfile -t topics < <(grep -v '^\s*#' topics.txt | grep -v '^\s*$')
out=$(kubectl -n "$ns" exec redpanda-0 -c redpanda -- \
  rpk topic create "${topics[@]}" --partitions "$partitions" --replicas 1 2>&1) || true
echo "$out"
if grep -Eq 'INVALID|ERROR|error' <<<"$out" && ! grep -q 'TOPIC_ALREADY_EXISTS' <<<"$out"; then
  exit 1
fi
kubectl -n "$ns" exec redpanda-0 -c redpanda -- rpk topic list
