#!/usr/bin/env bash
# Parse throughput of heed's reader next to pandas read_csv (docs/data.md). Builds parse_bench,
# installs Debian's python3-pandas when missing, and runs bench/parse_compare.py with every
# argument given here:
#   bash bench/parse_bench.sh --rows 1000000 --threads 1,2
#   bash bench/parse_bench.sh --rows 1000000 --repeats 5 --formats tsv --reference bench-data/1000000 \
#       --plot docs/perf/parse-threads.svg --json docs/perf/parse.json   (docs/performance.md's plot)
# BUILD_DIR (default build) is the CMake build folder used.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if ! /usr/bin/python3 -c "import pandas" 2>/dev/null || ! dpkg -s libbenchmark-dev >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-pandas libbenchmark-dev
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DHEED_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target parse_bench
exec /usr/bin/python3 bench/parse_compare.py --build "$BUILD_DIR" "$@"
