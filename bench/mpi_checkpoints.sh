#!/usr/bin/env bash
# Sharded checkpoints of a distributed run (docs/distributed.md), measured on `heed synth` data
# (ROWS rows, default 30000) with the demo model (examples/synth/config.toml), EPOCHS epochs
# (default 2), a checkpoint every STEPS steps (default 20), one thread per rank. For each N in
# RANKS (default "2 3"): a run straight through against one stopped after epoch 1 and resumed
# (`--resume`, same N): metrics.json (but for wall-clock times) and `heed predict`'s bytes must
# be equal. Prints the size of each rank's shard and of the manifest of the newest checkpoint,
# and, beside them, the size of a plain run's single-file checkpoint at the same step (the
# whole file a distributed run wrote before shards: the same tables, rows and state).
#   bash bench/mpi_checkpoints.sh
# BUILD_DIR (default build) must hold an MPI build (scripts/build.sh with libopenmpi-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ROWS=${ROWS:-30000}
RANKS=${RANKS:-"2 3"}
EPOCHS=${EPOCHS:-2}
STEPS=${STEPS:-20}
heed="$BUILD_DIR/heed"
work=$(mktemp -d "${TMP:-/tmp}/heed_mpi_checkpoints_XXXXXX")
trap 'rm -rf "$work"' EXIT
"$heed" synth --out "$work/data" --rows "$ROWS" --seed 1 >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
common=(examples/synth/config.toml --set data.dir="$work/data" --set train.threads=1 --set train.progress=none
        --set train.checkpoint_steps="$STEPS" --set train.early_stop_metric=none)
without_times() {
  /usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1]))
for e in m['history']: e.pop('seconds'); e.pop('samples_per_second')
print(json.dumps(m, sort_keys=True))" "$1"
}
predict() { "$heed" predict "$1/model" --data "$work/data/test.tsv" --out "$1/predictions.tsv" >/dev/null; }

"$heed" train "${common[@]}" --set train.epochs=1 --out "$work/plain" >/dev/null
for n in $RANKS; do
  run=(mpirun --oversubscribe --bind-to none -np "$n" "$heed" train "${common[@]}")
  "${run[@]}" --set train.epochs="$EPOCHS" --out "$work/straight$n" >/dev/null
  "${run[@]}" --set train.epochs=1 --out "$work/resumed$n" >/dev/null
  echo "ranks $n, after epoch 1 (the stopped run's folder):"
  ls -l "$work/resumed$n" | awk '$NF ~ /^checkpoint/ {printf "  %-40s %12d bytes\n", $NF, $5}'
  printf "  %-40s %12d bytes\n" "(a plain run's checkpoint, same step)" "$(stat -c %s "$work/plain/checkpoint")"
  "${run[@]}" --set train.epochs="$EPOCHS" --resume "$work/resumed$n" >/dev/null
  predict "$work/straight$n"
  predict "$work/resumed$n"
  if [ "$(without_times "$work/straight$n/metrics.json")" = "$(without_times "$work/resumed$n/metrics.json")" ] &&
     cmp -s "$work/straight$n/predictions.tsv" "$work/resumed$n/predictions.tsv"; then
    echo "  stopped after epoch 1 and resumed = straight through: metrics.json and predictions identical" \
         "(test auc $(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['test']['auc'])" "$work/resumed$n/metrics.json"))"
  else
    echo "  DIFFERENT: the resumed run does not equal the straight one"; exit 1
  fi
done
