// The reduced-precision products (src/core/lowp.h) on one thread: this core's peak
// multiply-add rate per precision, measured by register-only loops of the instruction each
// kernel is built on, and the rate lowp::multiply reaches on the scorer's shapes, as a fraction
// of that peak (docs/performance.md, "Reduced precision scoring"). Times are the thread's CPU
// time.
//
//   lowp_bench [--shapes M,K,N;M,K,N...] [--seconds S]
//
// prints one JSON object:
//   peak_gmacs     {"fp32": vfmadd231ps zmm, "bf16": vdpbf16ps zmm, "int8": vpdpbusd zmm} in
//                  G multiply-adds per second (16, 32 and 64 per instruction), best of 5
//   shapes         per shape and precision: G multiply-adds/s of lowp::multiply (fp32: heed::gemm,
//                  whichever kernel it sends the product to; fp32_avx512: heed::gemm_avx512, the request
//                  scorer's MLP products) and the fraction of that precision's peak
//   isa            which kernel ran per precision (fp32: heed::gemm_kernel_name(); "portable"
//                  without the units)
#include <immintrin.h>

#include <time.h>

#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/choices.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/lowp.h"
#include "core/gemm_avx512.h"

namespace {

constexpr long kIterations = 20'000'000;

// The thread's CPU time: on a shared machine, what the loops themselves took (wall time counts
// the stretches another process held the core).
struct Clock {
  using time_point = double;
  static double now() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
};
double seconds_between(double a, double b) { return b - a; }

// 12 independent accumulators hide each instruction's latency; the loop is nothing else.
__attribute__((target("avx512f"))) double fp32_peak() {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_set1_ps(0.0f);
  const __m512 x = _mm512_set1_ps(1e-9f), y = _mm512_set1_ps(1.0f);
  const auto t0 = Clock::now();
  for (long i = 0; i < kIterations; ++i)
    for (auto& a : acc) a = _mm512_fmadd_ps(x, y, a);
  const double s = seconds_between(t0, Clock::now());
  float sink = 0;
  for (auto& a : acc) sink += _mm512_reduce_add_ps(a);
  if (sink == 42.0f) std::puts("");
  return 12.0 * 16.0 * static_cast<double>(kIterations) / s / 1e9;
}

__attribute__((target("avx512f,avx512bf16"))) double bf16_peak() {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_set1_ps(0.0f);
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3000), y = (__m512bh)_mm512_set1_epi16(0x3f80);
  const auto t0 = Clock::now();
  for (long i = 0; i < kIterations; ++i)
    for (auto& a : acc) a = _mm512_dpbf16_ps(a, x, y);
  const double s = seconds_between(t0, Clock::now());
  float sink = 0;
  for (auto& a : acc) sink += _mm512_reduce_add_ps(a);
  if (sink == 42.0f) std::puts("");
  return 12.0 * 32.0 * static_cast<double>(kIterations) / s / 1e9;
}

__attribute__((target("avx512f,avx512vnni"))) double int8_peak() {
  __m512i acc[12];
  for (auto& a : acc) a = _mm512_setzero_si512();
  const __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(1);
  const auto t0 = Clock::now();
  for (long i = 0; i < kIterations; ++i)
    for (auto& a : acc) a = _mm512_dpbusd_epi32(a, x, y);
  const double s = seconds_between(t0, Clock::now());
  long long sink = 0;
  for (auto& a : acc) sink += _mm512_reduce_add_epi32(a);
  if (sink == 42) std::puts("");
  return 12.0 * 64.0 * static_cast<double>(kIterations) / s / 1e9;
}

template <class F>
double best_of(int times, F f) {
  double best = 0;
  for (int i = 0; i < times; ++i) best = std::max(best, f());
  return best;
}

heed::Matrix random_matrix(heed::Index rows, heed::Index cols, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  heed::Matrix m(rows, cols);
  for (heed::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(gen);
  return m;
}

// G multiply-adds per second of y = x W on [m, k] x [k, n], repeated for about `seconds`.
// avx512: fp32 by heed::gemm_avx512 (the request scorer's MLP) whatever heed::gemm picks.
double product_rate(heed::Index m, heed::Index k, heed::Index n, heed::Precision precision, bool avx512,
                    double seconds) {
  const heed::Matrix x = random_matrix(m, k, 1), w = random_matrix(k, n, 2);
  heed::Matrix y(m, n);
  heed::lowp::PackedWeight packed;
  if (precision != heed::Precision::kFp32) packed = heed::lowp::pack(w, precision);
  auto once = [&] {
    if (precision == heed::Precision::kFp32) {
      y.setZero();
      if (avx512) heed::gemm_avx512(x, w, y);
      else heed::gemm(x, w, y);
    } else {
      heed::lowp::multiply(x, packed, y, false);
    }
  };
  once();
  long calls = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    once();
    ++calls;
    elapsed = seconds_between(t0, Clock::now());
  }
  return static_cast<double>(calls) * static_cast<double>(m * k * n) / elapsed / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // The reference request's products (docs/performance.md, "The reference model"): the MLP's
    // first two layers over 100 candidates, DIN's product term and second layer over a block
    // of 250 (candidate, history item) pairs.
    std::string shapes = "100,416,512;100,512,256;250,32,80;250,80,40";
    double seconds = 0.5;
    for (int i = 1; i < argc; ++i) {
      const std::string k = argv[i];
      if (k == "--shapes" && i + 1 < argc) shapes = argv[++i];
      else if (k == "--seconds" && i + 1 < argc) seconds = std::stod(argv[++i]);
      else throw heed::Error(fmt::format("unknown option {} (--shapes M,K,N;... --seconds S)", k));
    }
    using heed::Precision;
    nlohmann::ordered_json out;
    out["isa"] = {{"fp32", heed::gemm_kernel_name()},
                  {"bf16", heed::lowp::isa_name(Precision::kBf16)},
                  {"int8", heed::lowp::isa_name(Precision::kInt8)}};
    __builtin_cpu_init();
    nlohmann::ordered_json peak;
    peak["fp32"] = best_of(5, fp32_peak);
    if (__builtin_cpu_supports("avx512bf16")) peak["bf16"] = best_of(5, bf16_peak);
    if (__builtin_cpu_supports("avx512vnni")) peak["int8"] = best_of(5, int8_peak);
    out["peak_gmacs"] = peak;
    std::stringstream list(shapes);
    for (std::string shape; std::getline(list, shape, ';');) {
      long m = 0, k = 0, n = 0;
      if (std::sscanf(shape.c_str(), "%ld,%ld,%ld", &m, &k, &n) != 3) throw heed::Error("--shapes: M,K,N;M,K,N...");
      for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
        const double rate = product_rate(m, k, n, p, false, seconds);
        const char* name = heed::choice_name(p);
        out["shapes"][shape][name]["gmacs"] = rate;
        if (peak.contains(name)) out["shapes"][shape][name]["of_peak"] = rate / peak[name].get<double>();
      }
      if (heed::gemm_avx512_available()) {
        const double rate = product_rate(m, k, n, Precision::kFp32, true, seconds);
        out["shapes"][shape]["fp32_avx512"]["gmacs"] = rate;
        out["shapes"][shape]["fp32_avx512"]["of_peak"] = rate / peak["fp32"].get<double>();
      }
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowp_bench: %s\n", e.what());
    return 1;
  }
}
