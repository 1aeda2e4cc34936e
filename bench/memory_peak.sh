#!/usr/bin/env bash
# Peak memory of streamed training on a file of at least 5 GB (docs/data.md). Generates
# UNIQUE Criteo-like rows (default 1,500,000; label, 13 counts, 26 hex categories) with
# parse_bench --make, repeats them until the file holds TARGET_BYTES (default 5.5e9), trains
# one epoch on it with data.stream = "on" under /usr/bin/time -v while sampling VmHWM every 10
# seconds, prints the file size, the peak resident memory and the model's size on disk, then
# deletes the data.
#   bash bench/memory_peak.sh
# BUILD_DIR (default build) is the CMake build folder; TMP (default /tmp) holds the data.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
UNIQUE=${UNIQUE:-1500000}
TARGET_BYTES=${TARGET_BYTES:-5500000000}
work=$(mktemp -d "${TMP:-/tmp}/heed_memory_peak_XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake -S . -B "$BUILD_DIR" -G Ninja -DHEED_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target heed parse_bench >/dev/null
"$BUILD_DIR/parse_bench" --make "$work/unique" --rows "$UNIQUE" --tsv-only --seed 7
"$BUILD_DIR/parse_bench" --make "$work/valid" --rows 20000 --tsv-only --seed 8
mkdir -p "$work/train"
cp "$work/unique/rows.tsv" "$work/train/rows.tsv"
tail -n +2 "$work/unique/rows.tsv" > "$work/unique/body.tsv"
while [ "$(stat -c %s "$work/train/rows.tsv")" -lt "$TARGET_BYTES" ]; do cat "$work/unique/body.tsv" >> "$work/train/rows.tsv"; done
rm -rf "$work/unique"
{
  printf '[data]\ntrain = "%s"\nvalid = "%s"\ntest = ""\nstream = "on"\nshuffle_buffer = 262144\n' \
    "$work/train/rows.tsv" "$work/valid/rows.tsv"
  for i in $(seq 1 13); do printf '[features.I%d]\nkind = "numeric"\nbucketize = "log2"\n' "$i"; done
  for i in $(seq 1 26); do printf '[features.C%d]\n' "$i"; done
  printf '[embedding]\ndim = 8\n[model]\nhidden = [32, 16]\n[train]\nepochs = 1\nbatch_size = 4096\nprogress = "log"\n'
} > "$work/config.toml"
echo "file: $(stat -c %s "$work/train/rows.tsv") bytes, $(($(wc -l < "$work/train/rows.tsv") - 1)) rows"
/usr/bin/time -v "$BUILD_DIR/heed" train "$work/config.toml" --out "$work/run" > /dev/null 2> "$work/time.txt" &
pid=$!
sleep 2
heed_pid=$(pgrep -P "$pid" || echo "$pid")
while kill -0 "$pid" 2>/dev/null; do
  echo "$(date +%T) $(grep -E 'VmHWM' "/proc/$heed_pid/status" 2>/dev/null | tr -s ' \t' ' ') $(grep -E '^rchar' "/proc/$heed_pid/io" 2>/dev/null)"
  sleep 10
done
wait "$pid" || { cat "$work/time.txt"; exit 1; }
grep -E "Maximum resident|Elapsed" "$work/time.txt"
grep -E "training on|epoch 1:" "$work/time.txt" || true
echo "model on disk: $(stat -c %s "$work/run/model") bytes"
/usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print('train_rows', m['train_rows'], 'valid auc', m['valid']['auc'])" "$work/run/metrics.json"
