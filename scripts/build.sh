#!/usr/bin/env bash
# Configures and builds heed (Release) into build/ (or $BUILD_DIR). Extra arguments go to cmake's
# configure step. ccache, when installed, makes rebuilds across checkouts cheap; it is optional.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# mpirun -np N heed train (docs/distributed.md) when Open MPI's development files are installed
# (scripts/install-deps.sh installs them); -DHEED_MPI=OFF among the arguments still wins.
mpi=()
if [ -e /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h ] || pkg-config --exists ompi-c 2>/dev/null; then
  mpi=(-DHEED_MPI=ON)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${mpi[@]}" "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
