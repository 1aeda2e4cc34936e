#!/usr/bin/env bash
# README command 1: install dependencies, build, generate the demo data, train the demo model
# and print its test metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/heed synth --out demo/data --rows 200000 --seed 1
./build/heed train examples/synth/config.toml --set data.dir=demo/data --out demo/run
echo "test metrics (demo/run/metrics.json):"
./build/heed eval demo/run/model --data demo/data/test.tsv
