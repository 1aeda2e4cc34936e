#!/usr/bin/env bash
# Installs heed's build and test dependencies from Debian 12 packages. Idempotent: packages
# already present are left alone, and apt is only asked when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config  # toolchain
  libeigen3-dev          # dense math (MLP, attention units)
  libopenblas-pthread-dev  # the large matrix products (sgemm), linked statically
  libxxhash-dev          # 64-bit feature keys
  libtomlplusplus-dev    # config files
  libcli11-dev           # the heed command line
  nlohmann-json3-dev     # metrics.json, synth.json, reports
  libfmt-dev             # message formatting
  libgtest-dev           # unit and integration tests
  libboost1.81-dev       # Boost.Asio/Beast: the event-driven HTTP server of `heed serve`
  libcpp-httplib-dev     # the HTTP client the serving tests use
  libgrpc++-dev libprotobuf-dev  # heed serve --grpc-port: the Open Inference Protocol over gRPC
  protobuf-compiler protobuf-compiler-grpc  # protoc and its gRPC plugin: the service's code, generated at build time
  zlib1g-dev             # gzip-compressed inputs
  libcurl4-openssl-dev   # heed download: https/file transfers with resume
  libssl-dev             # heed download: SHA-256 / MD5 checksums (OpenSSL)
  libminizip-dev         # heed download: unpacking the owners' zip archives
  libzstd-dev            # zstd-compressed inputs
  chromium               # renders heed explain reports in a test
  clang libclang-rt-14-dev  # sanitizer builds (ASan, UBSan, TSan) and libFuzzer targets
  libomp-14-dev          # OpenMP for the clang builds (libarcher lets TSan see its synchronization)
  python3-dev pybind11-dev python3-pybind11  # `import heed`: the extension module (python/)
  python3-numpy python3-pandas  # the module's arrays and DataFrames
  python3-pytest         # the Python tests (ctest's python_tests)
  python3-setuptools python3-wheel python3-pip python3-venv  # `pip install --no-build-isolation .`, offline
  libopenmpi-dev openmpi-bin  # mpirun -np N heed train: training over several processes (docs/distributed.md)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
