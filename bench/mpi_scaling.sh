#!/usr/bin/env bash
# Distributed training on this machine's loopback (docs/distributed.md): the demo model on
# `heed synth` data (ROWS training rows, default 60000), one epoch at 1, 2 and 4 ranks
# (RANKS), one thread per rank, no validation. Prints and writes to OUT (default
# docs/perf/mpi.json) each run's samples/s (metrics.json) and rank 0's per-step breakdown:
# building the batch, forward+backward on its share, the exchange (and the bytes it sent), the
# update (the bytes of the sharded embedding rows' exchanges among them); and, at each N above 1, bench/mpi_sum_bench.cpp's timing of the gradient sum alone (a
# barrier first, so no wait for a late rank is counted). bench/mpi_projection.py reads that file.
#   bash bench/mpi_scaling.sh
# BUILD_DIR (default build) must hold an MPI build (scripts/build.sh with libopenmpi-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ROWS=${ROWS:-60000}
RANKS=${RANKS:-"1 2 4"}
BATCH=${BATCH:-1024}
OUT=${OUT:-docs/perf/mpi.json}
heed="$BUILD_DIR/heed"
cmake --build "$BUILD_DIR" --target heed mpi_sum_bench >/dev/null
work=$(mktemp -d "${TMP:-/tmp}/heed_mpi_scaling_XXXXXX")
trap 'rm -rf "$work"' EXIT
"$heed" synth --out "$work/data" --rows "$ROWS" --seed 1 >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
: > "$work/all.json"
for n in $RANKS; do
  mpirun --oversubscribe --bind-to none -np "$n" "$heed" train examples/synth/config.toml \
    --set data.dir="$work/data" --set train.epochs=1 --set train.threads=1 --set train.batch_size="$BATCH" \
    --set train.early_stop_metric=none --set train.progress=log --out "$work/run$n" > /dev/null 2> "$work/err$n"
  line=$(grep "per step over" "$work/err$n")
  sps=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['history'][0]['samples_per_second'])" "$work/run$n/metrics.json")
  echo "ranks $n: $sps samples/s; $line"
  /usr/bin/python3 - "$n" "$sps" "$line" "$BATCH" "$ROWS" >> "$work/all.json" <<'PY'
import re, sys, json
n, sps, line, batch, rows = sys.argv[1:6]
ms = dict(re.findall(r"(build|forward\+backward|exchange|update) ([0-9.]+) ms", line))
sent = int(re.search(r"\((\d+) bytes sent", line).group(1))
rows_sent = re.search(r"bytes sent, (\d+) of them embedding rows", line)
steps = int(re.search(r"over (\d+) steps", line).group(1))
print(json.dumps({"ranks": int(n), "samples_per_second": float(sps), "batch": int(batch), "train_rows": int(rows),
                  "steps": steps, "build_ms": float(ms["build"]), "compute_ms": float(ms["forward+backward"]),
                  "exchange_ms": float(ms["exchange"]), "update_ms": float(ms["update"]), "bytes_sent_per_step": sent,
                  "row_bytes_sent_per_step": int(rows_sent.group(1)) if rows_sent else 0}))
PY
done
: > "$work/sums.json"
for n in $RANKS; do
  [ "$n" -gt 1 ] || continue
  mpirun --oversubscribe --bind-to none -np "$n" "$BUILD_DIR/mpi_sum_bench" | tee -a "$work/sums.json"
done
/usr/bin/python3 - "$work/all.json" "$OUT" "$work/sums.json" <<'PY'
import json, sys, os
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sums = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
info = {"machine": f"{os.cpu_count()} cores, loopback (Open MPI shared memory)", "runs": rows, "sum_only": sums}
with open(sys.argv[2], "w") as f:
    json.dump(info, f, indent=1)
    f.write("\n")
PY
echo "wrote $OUT"
