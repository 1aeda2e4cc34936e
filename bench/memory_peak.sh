#!/usr/bin/env bash
# Peak memory of streamed training on a large generated file (docs/data.md): writes a
# Criteo-like TSV of ROWS rows (default 20,000,000: about 5 GB) with parse_bench --make, trains
# one epoch on it with data.stream = "on" under /usr/bin/time -v, prints the file size, the
# peak resident memory, the model's size on disk and the run's metrics, then deletes the data.
#   ROWS=20000000 bash bench/memory_peak.sh
# BUILD_DIR (default build) is the CMake build folder; TMP (default /tmp) holds the data.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ROWS=${ROWS:-20000000}
work=$(mktemp -d "${TMP:-/tmp}/heed_memory_peak_XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake -S . -B "$BUILD_DIR" -G Ninja -DHEED_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target heed parse_bench >/dev/null
"$BUILD_DIR/parse_bench" --make "$work/train" --rows "$ROWS" --tsv-only --seed 7
"$BUILD_DIR/parse_bench" --make "$work/valid" --rows 20000 --tsv-only --seed 8
{
  printf '[data]\ntrain = "%s"\nvalid = "%s"\ntest = ""\nstream = "on"\nshuffle_buffer = 262144\n' \
    "$work/train/rows.tsv" "$work/valid/rows.tsv"
  for i in $(seq 1 13); do printf '[features.I%d]\nkind = "numeric"\nbucketize = "log2"\n' "$i"; done
  for i in $(seq 1 26); do printf '[features.C%d]\n' "$i"; done
  printf '[embedding]\ndim = 8\n[model]\nhidden = [64, 32]\n[train]\nepochs = 1\nbatch_size = 2048\nprogress = "log"\n'
} > "$work/config.toml"
echo "file: $(du -h "$work/train/rows.tsv" | cut -f1) ($(stat -c %s "$work/train/rows.tsv") bytes, $ROWS rows)"
/usr/bin/time -v "$BUILD_DIR/heed" train "$work/config.toml" --out "$work/run" 2> "$work/time.txt" || { cat "$work/time.txt"; exit 1; }
grep -E "Maximum resident|Elapsed|heed:" "$work/time.txt" || true
grep -E "training on|epoch 1" "$work/time.txt" || true
echo "model on disk: $(stat -c %s "$work/run/model") bytes"
/usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print('train_rows', m['train_rows'], 'valid auc', m['valid']['auc'])" "$work/run/metrics.json"
