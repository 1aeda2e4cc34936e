#!/usr/bin/env bash
# README command 1: install dependencies, build, generate the demo data, train the demo model
# (SENet, DIN and POSO on heed synth data), print its summary (test AUC, gAUC, logloss) and write the explain report
# next to them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/heed synth --out demo/data --rows 200000 --seed 1
./build/heed train examples/synth/config.toml --set data.dir=demo/data --out demo/run --overwrite
./build/heed explain demo/run/model --data demo/data/test.tsv --out demo/run/report.html
echo "test metrics: demo/run/metrics.json   what each module learned: demo/run/report.html"
