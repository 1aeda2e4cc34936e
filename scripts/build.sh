#!/usr/bin/env bash
# Configures and builds heed (Release) into build/ (or $BUILD_DIR). Extra arguments go to cmake's
# configure step. ccache, when installed, makes rebuilds across checkouts cheap; it is optional.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
