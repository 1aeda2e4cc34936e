#!/usr/bin/env bash
# Peak memory of `heed prepare taobao` (docs/datasets.md, Taobao). Writes a synthetic
# UserBehavior.csv of ACTIONS lines (default 8,000,000; 100 actions a user on average, 89% pv,
# ids and timestamps shaped like Tianchi's, in random order), runs the recipe on it under
# /usr/bin/time -v with each binary given, prints its peak resident memory and the bucket
# account from prepare.json, then deletes everything.
#   bash bench/taobao_memory.sh [BINARY...]        (default: build/heed)
# BUCKET_MB (default "256 32"), each value a run with --bucket-mb for binaries that know it
# (older ones run once, with all actions in memory); MAX_HISTORY
# (default 10) keeps the output small (the actions held in memory do not depend on it);
# TMP (default /tmp) holds the data.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONS=${ACTIONS:-8000000}
BUCKET_MB=${BUCKET_MB:-256 32}
MAX_HISTORY=${MAX_HISTORY:-10}
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(build/heed)
work=$(mktemp -d "${TMP:-/tmp}/heed_taobao_memory_XXXXXX")
trap 'rm -rf "$work"' EXIT

awk -v n="$ACTIONS" 'BEGIN {
  srand(7); users = int(n / 100) + 1; start = 1511539200; span = 777600
  for (i = 0; i < n; i++) {
    r = rand(); b = r < 0.89 ? "pv" : r < 0.92 ? "fav" : r < 0.98 ? "cart" : "buy"
    printf "%d,%d,%d,%s,%d\n", 1 + int(rand() * users) * 13, 1 + int(rand() * 5000000),
      1 + int(rand() * 5000000), b, start + int(rand() * span)
  }
}' > "$work/UserBehavior.csv"
echo "source: $(stat -c %s "$work/UserBehavior.csv") bytes, $ACTIONS actions"

run() {  # binary, extra flags...
  local binary=$1
  shift
  rm -rf "$work/out"
  /usr/bin/time -v "$binary" prepare taobao --source "$work/UserBehavior.csv" --out "$work/out" \
    --max-history "$MAX_HISTORY" "$@" > "$work/stdout.txt" 2> "$work/time.txt" ||
    { cat "$work/time.txt"; exit 1; }
  echo "$binary $*: $(cat "$work/stdout.txt")"
  grep -E "Maximum resident|Elapsed|User time|System time" "$work/time.txt"
  /usr/bin/python3 -c "import json,sys; print('  buckets', json.load(open(sys.argv[1])).get('buckets', 'none (all in memory)'))" \
    "$work/out/prepare.json"
  (cd "$work/out" && LC_ALL=C sort train.tsv test.tsv | md5sum | sed 's/^/  rows (sorted) md5 /')
}
for binary in "${binaries[@]}"; do
  if "$binary" prepare taobao --help | grep -q -- --bucket-mb; then
    for mb in $BUCKET_MB; do run "$binary" --bucket-mb "$mb"; done
  else
    run "$binary"
  fi
done
