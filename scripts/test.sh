#!/usr/bin/env bash
# README command 2: install dependencies, build, and run the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DHEED_WERROR=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 900
# Then the sanitizer stage (docs/reliability.md): the suite again under ASan+UBSan, the fuzz
# targets' kept corpus and a minute of fuzzing each, and the multi-threaded tests under TSan.
# SKIP_SANITIZERS=1 leaves it out (a quick local run); STAGES picks some of it.
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/sanitize.sh; fi
