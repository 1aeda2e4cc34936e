#!/usr/bin/env bash
# heed vs PyTorch on the reference model (docs/performance.md). Installs what is missing
# (Debian packages), builds heed with the bench programs, generates the data and runs
# bench/compare.py with every argument given here:
#   bash bench/compare_torch.sh --rows 200000 --threads 1,2 --out results.json
# BUILD_DIR (default build) is the CMake build folder used.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OPENBLAS_OPENMP=/usr/lib/x86_64-linux-gnu/openblas-openmp

if ! /usr/bin/python3 -c "import torch, numpy, pandas, sklearn" 2>/dev/null || [ ! -d "$OPENBLAS_OPENMP" ] \
   || ! dpkg -s libbenchmark-dev >/dev/null 2>&1; then
  echo "installing python3-torch python3-numpy python3-pandas python3-sklearn libopenblas0-openmp libbenchmark-dev" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch python3-numpy python3-pandas \
    python3-sklearn libopenblas0-openmp libbenchmark-dev
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DHEED_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target heed heed_bench

# Debian's torch finds BLAS through the alternatives system; without this it can land on the
# slow reference BLAS, and the pthread build of OpenBLAS fights torch's own OpenMP threads.
export LD_LIBRARY_PATH="$OPENBLAS_OPENMP${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec /usr/bin/python3 bench/compare.py --build "$BUILD_DIR" "$@"
