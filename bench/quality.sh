#!/usr/bin/env bash
# The quality suite (docs/quality.md): every example config, every module variant, several seeds,
# on every dataset this machine has offline, with the PyTorch twin beside heed where it supports
# the variant; then the pooling and DIN-normalization settings the defaults were chosen on.
#
#   bash bench/quality.sh                         # 3 seeds, everything, writes docs/quality.md
#                                                 # (the twin on seed 1: --twin-seeds N for more)
#   bash bench/quality.sh --seeds 1 --datasets shop,ml-100k-next --no-twin --out /tmp/q
#
# Datasets: the two `heed synth` worlds (demo, shop) are generated; MovieLens-100K (ratings and the
# next-item task), Frappe and the Criteo and Avazu heads are read from ../shared/datasets when
# present (--shared DIR reads them elsewhere; a dataset that is missing is listed as skipped).
# Debian packages only: heed itself, /usr/bin/python3 with python3-torch for the twin ($PYTHON picks
# another interpreter with torch and pandas), plain python3 for the report.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=3
out=bench-runs/quality
datasets="demo,shop,ml-100k,ml-100k-next,frappe,criteo,avazu"
twin=1
twin_seeds=1
study=1
threads=2
report=docs/quality.md
shared=../shared/datasets
while (($#)); do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --shared) shared=$2; shift 2 ;;
    --no-twin) twin=0; shift ;;
    --twin-seeds) twin_seeds=$2; shift 2 ;;
    --no-study) study=0; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "quality.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

heed=${HEED:-build/heed}
python=${PYTHON:-/usr/bin/python3}
[ -x "$heed" ] || bash scripts/build.sh
mkdir -p "$out/data" "$out/runs"
log() { echo "[quality $(date +%H:%M:%S)] $*" >&2; }

# prepare NAME: writes $out/data/NAME and echoes the config to train it with, or nothing when
# the dataset is not on this machine.
prepare() {
  local name=$1 dir=$out/data/$1
  case "$name" in
    demo)
      [ -f "$dir/test.tsv" ] || "$heed" synth --out "$dir" --rows 60000 --seed 1 >&2
      echo examples/synth/config.toml ;;
    shop)
      [ -f "$dir/test.tsv" ] || "$heed" synth --world shop --out "$dir" --seed 1 >&2
      echo examples/shop/config.toml ;;
    ml-100k)
      [ -d "$shared/ml-100k/original" ] || return 0
      [ -f "$dir/test.tsv" ] || "$heed" prepare ml-100k --source "$shared/ml-100k/original" --out "$dir" >&2
      echo examples/ml-100k/config.toml ;;
    ml-100k-next)
      [ -d "$shared/ml-100k/original" ] || return 0
      [ -f "$dir/test.tsv" ] ||
        "$heed" prepare ml-100k --task next-item --source "$shared/ml-100k/original" --out "$dir" >&2
      echo examples/shop/config.toml ;;
    frappe)
      [ -d "$shared/frappe" ] || return 0
      [ -f "$dir/test.tsv" ] || "$heed" prepare frappe --source "$shared/frappe" --out "$dir" >&2
      echo examples/frappe/config.toml ;;
    criteo)
      [ -d "$shared/criteo-head" ] || return 0
      [ -f "$dir/test.tsv" ] || "$heed" prepare criteo --source "$shared/criteo-head" --out "$dir" >&2
      echo examples/criteo/config.toml ;;
    avazu)
      [ -d "$shared/avazu-head" ] || return 0
      [ -f "$dir/test.tsv" ] || "$heed" prepare avazu --source "$shared/avazu-head" --out "$dir" >&2
      echo examples/avazu/config.toml ;;
    *) echo "quality.sh: unknown dataset $name" >&2; exit 2 ;;
  esac
}

# twin RUN_DIR: the PyTorch twin on the resolved config of one heed run, same data and seed.
twin() {
  local run=$1
  [ -f "$run/twin.json" ] || [ -f "$run/twin.skipped" ] && return 0
  local data
  data=$(sed -n "s/^dir = '\(.*\)'$/\1/p" "$run/config.toml" | head -1)
  if ! "$python" bench/torch_reference.py --config "$run/config.toml" --data "$data" \
      --threads "$threads" --valid --out "$run/twin.json" >"$run/twin.log" 2>&1; then
    # An option the twin does not implement is an error there: keep its reason.
    grep -o "does not implement .*" "$run/twin.log" | tail -1 >"$run/twin.skipped" ||
      tail -1 "$run/twin.log" >"$run/twin.skipped"
  fi
}

IFS=, read -r -a names <<<"$datasets"
seed_list=$(seq -s, 1 "$seeds")
for name in "${names[@]}"; do
  config=$(prepare "$name")
  if [ -z "$config" ]; then
    log "$name: not on this machine, skipped"
    echo "$name" >>"$out/skipped.txt"
    continue
  fi
  data=$(cd "$out/data/$name" && pwd)
  # Settings every run of this dataset adds to its config. The Frappe files published with the
  # NFM split that ../shared holds have no train part: train on validation, carving a tenth of it
  # for early stopping, as examples/frappe/config.toml says.
  sets=(--set "data.dir=$data")
  if [ "$name" = frappe ] && [ ! -f "$data/train.tsv" ]; then
    sets+=(--set data.train=valid.tsv --set data.valid=)
  fi
  log "$name: heed ablate $config ${sets[*]:2}, seeds $seed_list"
  "$heed" ablate "$config" "${sets[@]}" --seed-list "$seed_list" --threads "$threads" \
    --out "$out/runs/$name/modules" >"$out/runs/$name.modules.txt"
  if ((twin)) && "$python" -c "import torch, pandas" 2>/dev/null; then
    for s in $(seq 1 "$twin_seeds"); do
      for run in "$out/runs/$name/modules"/*/seed-"$s"; do
        log "$name: twin on $run"
        twin "$run"
      done
    done
  fi
  if ((study)); then
    # The settings the defaults were chosen on: DIN's normalization (DIN alone) where the config
    # attends, and the plain model's pooling of every multi and sequence feature.
    if grep -q 'pooling = "din"' "$config"; then
      for normalize in raw softmax mean sqrtn; do
        log "$name: din.normalize=$normalize"
        "$heed" ablate "$config" "${sets[@]}" --set "din.normalize=$normalize" \
          --variants din --seed-list "$seed_list" --threads "$threads" \
          --out "$out/runs/$name/normalize-$normalize" >/dev/null
      done
    fi
    pooled=$(sed -n 's/^kind = "\(multi\|sequence\)".*/x/p' "$config" | wc -l)
    if ((pooled > 0)); then
      for pooling in sum mean sqrtn; do
        log "$name: plain model, every multi and sequence feature pooled by $pooling"
        "$heed" ablate "$config" "${sets[@]}" --set "embedding.multi_pooling=$pooling" --set "embedding.sequence_pooling=$pooling" \
          --variants plain --seed-list "$seed_list" --threads "$threads" \
          --out "$out/runs/$name/pooling-$pooling" >/dev/null
      done
    fi
  fi
done

python3 bench/quality_report.py --runs "$out/runs" --seeds "$seeds" --command "bash bench/quality.sh $*" \
  --out "$report"
log "wrote $report"
