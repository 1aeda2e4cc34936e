#!/usr/bin/env bash
# README command 2: install dependencies, build, and run the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DHEED_WERROR=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 900
# The fuzz targets under ASan+UBSan: their kept corpus, then a minute of fuzzing each
# (docs/reliability.md; SKIP_FUZZ=1 leaves this out).
if [ "${SKIP_FUZZ:-0}" != 1 ]; then STAGES=fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/sanitize.sh; fi
