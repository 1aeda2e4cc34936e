#!/usr/bin/env bash
# The sanitizer and fuzzing stage of the test command (scripts/test.sh runs it after the normal
# suite; docs/reliability.md says exactly what runs and why). Each build has its own folder.
#   1. build-asan: clang at -O1 with AddressSanitizer + UndefinedBehaviorSanitizer (and the
#      coverage instrumentation libFuzzer needs); the whole suite runs under it.
#   2. The libFuzzer targets of that build: every kept input (fuzz/corpus/<target>/), then
#      FUZZ_SECONDS (default 60) of fuzzing each; a finding fails the stage and its input is
#      left in fuzz-findings/ to be fixed and kept in the corpus.
#   3. build-tsan: clang with ThreadSanitizer (OpenMP through LLVM's libomp, which reports its
#      own synchronization to TSan through libarcher); the multi-threaded training and serving
#      tests run under it.
# STAGES (default "asan fuzz tsan") picks stages, e.g. STAGES=fuzz FUZZ_SECONDS=3600 for a long run.
set -euo pipefail
cd "$(dirname "$0")/.."
stages="${STAGES:-asan fuzz tsan}"
fuzz_seconds="${FUZZ_SECONDS:-60}"
jobs="$(nproc)"
# Warnings are policed by the GCC build (-DHEED_WERROR=ON in scripts/test.sh); here only what
# the sanitizers find fails the stage.
clang=(-DCMAKE_CXX_COMPILER=clang++)

# ASan's leak checker and UBSan both stop the run at the first report.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# TSan sees only what is instrumented: LLVM's OpenMP runtime, Debian's compiled cpp-httplib (the
# serving tests' HTTP client) and Debian's gRPC (the service of `heed serve --grpc-port` and the
# tests' gRPC client) are not, and their internal locking would read as races, so reports whose accesses are all
# inside such libraries are dropped (libomp asks for exactly this when it starts under TSan).
# gRPC's header code inlined into heed hands calls across that boundary too (scripts/tsan.supp).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/scripts/tsan.supp"

stage() { [[ " $stages " == *" $1 "* ]]; }
elapsed() { echo "== $1 done after $((SECONDS - started)) s"; }
started=$SECONDS

if stage asan || stage fuzz; then
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${clang[@]}" \
    -DHEED_SANITIZE=address -DHEED_BUILD_FUZZ=ON >/dev/null
  # Fuzzing alone needs only the library and the fuzz targets, not the suite.
  targets=()
  if ! stage asan; then
    for src in fuzz/*_fuzz.cpp; do targets+=(--target "$(basename "$src" .cpp)"); done
  fi
  cmake --build build-asan --parallel "$jobs" "${targets[@]}"
  elapsed "ASan+UBSan build"
fi

if stage asan; then
  # LeakSanitizer needs ptrace; where the machine forbids it (some containers) leaks are not
  # checked, and the run says so.
  if build-asan/heed --help 2>&1 >/dev/null | grep -q "LeakSanitizer has encountered a fatal error"; then
    echo "== LeakSanitizer cannot run here (no ptrace): leak checking is off for this run"
    export ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}"
  fi
  ctest --test-dir build-asan --output-on-failure --parallel "$jobs" --timeout 1800
  elapsed "the suite under ASan+UBSan"
fi

if stage fuzz; then
  mkdir -p fuzz-findings
  for target in build-asan/*_fuzz; do
    name="$(basename "$target" _fuzz)"
    corpus="fuzz/corpus/$name"
    scratch="$(mktemp -d)"
    echo "== fuzzing $name for ${fuzz_seconds}s (kept inputs: $(ls "$corpus" | wc -l))"
    # New inputs go to the scratch folder; the kept corpus is only read.
    log="$scratch.log"
    if ! "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="fuzz-findings/$name-" "$scratch" "$corpus" >"$log" 2>&1; then
      tail -n 80 "$log"
      echo "fuzzing $name found a failure; its input is in fuzz-findings/" >&2
      exit 1
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" || true
    rm -rf "$scratch" "$log"
  done
  elapsed "fuzzing"
fi

if stage tsan; then
  BUILD_DIR=build-tsan bash scripts/build.sh "${clang[@]}" -DHEED_SANITIZE=thread
  elapsed "TSan build"
  # The tests that run several threads at once: OpenMP training steps, Adam and evaluation, the
  # HTTP server's I/O thread, scoring pool, drain and hot reload, the gRPC service's calls
  # (ServeGrpc: gRPC's threads hand them to the scoring pool).
  OMP_TOOL_LIBRARIES=/usr/lib/llvm-14/lib/libarcher.so ctest --test-dir build-tsan --output-on-failure \
    --parallel "$jobs" --timeout 1800 -R 'Trainer|KillResume|Divergence|Serve|Server|Reload|RequestScorer|Adam' \
    -E 'FullDisk'
  # (The full-disk test runs heed under a file-size limit, and a TSan-built heed dies there with
  # SIGBUS inside the sanitizer runtime, not in heed. It is not a threading test: the Release
  # and ASan runs cover it.)
  elapsed "threaded tests under TSan"
fi
