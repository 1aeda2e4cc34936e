#!/usr/bin/env bash
# Latency and throughput of `heed serve` on loopback: /v1/score requests of 100 candidates (one
# synth user with the longest history of the rows read) against the full demo model (DIN, SENet,
# POSO) driven by wrk, then the same request as a gRPC ModelInfer call (KServe v2 tensors, the
# user's fields shared) driven by bench/grpc_load.cpp, each at 1, 4, 16, 64 and 256 connections
# (LEVELS). Prints p50/p99 latency, requests/s and errors per level (HTTP: connect, read, write,
# timeout, non-2xx; gRPC: any call not answered OK).
#
#   bash bench/serve_bench.sh                 # synth data + a 1-epoch model in $WORK, then wrk
#   MODEL=runs/x/model DATA=data/test.tsv bash bench/serve_bench.sh
#   MODEL=bench-runs/full100k/model REQUESTS=bench-data/100000/requests.tsv THREADS=1 \
#     bash bench/serve_bench.sh   # the reference model (docs/performance.md) on one server thread
#
# Environment: BUILD (build folder, default build), WORK (default /tmp/heed_serve_bench),
# DURATION (seconds per level, default 10), THREADS (scoring threads, default one per core),
# LEVELS (connection counts, default "1 4 16 64 256"), PORT (8765), GRPC_PORT (8766),
# PROTOCOLS (default "http grpc"),
# REQUESTS (a bench/gen_data.py requests.tsv: its first 100 rows are the request, the columns
# equal in all of them the user's).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/heed_serve_bench}
DURATION=${DURATION:-10}
THREADS=${THREADS:-$(nproc)}
LEVELS=${LEVELS:-1 4 16 64 256}
PORT=${PORT:-8765}
GRPC_PORT=${GRPC_PORT:-8766}
PROTOCOLS=${PROTOCOLS:-http grpc}
HEED="$BUILD/heed"
[ -x "$HEED" ] || { echo "no $HEED: build heed first (bash scripts/build.sh)" >&2; exit 1; }

if ! command -v wrk >/dev/null; then  # the benchmark's own tool, not a build dependency
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends wrk
fi

mkdir -p "$WORK"
if [ -z "${MODEL:-}" ]; then
  if [ ! -f "$WORK/run/model" ]; then
    "$HEED" synth --out "$WORK/data" --rows 40000 --seed 1 >/dev/null
    "$HEED" train examples/synth/config.toml --set data.dir="$WORK/data" --set train.epochs=1 \
      --set train.progress=none --out "$WORK/run" >/dev/null
  fi
  MODEL="$WORK/run/model"
  DATA="$WORK/data/test.tsv"
fi
if [ -n "${REQUESTS:-}" ]; then
  python3 bench/serve_request.py "$REQUESTS" 100 --constant >"$WORK/body.json"
  python3 bench/serve_request.py "$REQUESTS" 100 --constant --v2 >"$WORK/infer.json"
else
  python3 bench/serve_request.py "$DATA" 100 >"$WORK/body.json"
  python3 bench/serve_request.py "$DATA" 100 --v2 >"$WORK/infer.json"
fi
if [[ " $PROTOCOLS " == *" grpc "* ]]; then
  cmake --build "$BUILD" --target grpc_load >/dev/null  # the gRPC load client (bench/grpc_load.cpp)
fi

# Every connection of the highest level may have a request waiting: --max-queue lets them all
# wait rather than get 503 (the shedding itself is tested, not benchmarked).
"$HEED" serve "$MODEL" --port "$PORT" --grpc-port "$GRPC_PORT" --threads "$THREADS" --max-queue 1024 --no-watch \
  2>"$WORK/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/v1/score" --data-binary @"$WORK/body.json" | head -c 200
echo

echo "model $MODEL, 100 candidates per request, ${DURATION}s per level, $(nproc) cores, $THREADS server threads"
if [[ " $PROTOCOLS " == *" http "* ]]; then
  for c in $LEVELS; do
    t=$((c < 4 ? c : 4))
    printf 'http connections=%-3s ' "$c"
    BODY_FILE="$WORK/body.json" wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s bench/serve_bench.lua \
      "http://127.0.0.1:$PORT/v1/score" | tail -n 1
  done
fi
if [[ " $PROTOCOLS " == *" grpc "* ]]; then
  for c in $LEVELS; do
    printf 'grpc connections=%-3s ' "$c"
    "$BUILD/grpc_load" --port "$GRPC_PORT" --connections "$c" --duration "$DURATION" \
      --body "$WORK/infer.json"
  done
fi
