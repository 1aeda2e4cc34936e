// heed::gemm (OpenBLAS sgemm, one thread, or heed's AVX-512 kernel where heed::gemm picks it),
// heed's AVX-512 kernel called directly, and Eigen's own product, on the shapes the reference
// model's training and scoring multiply (docs/performance.md). Each benchmark reports
// GFLOP/s; run both sides in one process and compare ratios, not absolute rates:
//   build/gemm_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include "core/gemm.h"
#include "core/gemm_avx512.h"

namespace {

using heed::Index;
using heed::Matrix;

struct Shape {
  const char* what;
  Index m, k, n;
  bool transpose_a, transpose_b;
};

// C[m, n] += op(A) op(B): batch 1024, 50-item histories (34,000 pairs per batch, the mean
// history of bench/gen_data.py's 200,000 rows), the MLP 512-256-128, DIN's unit 80-40.
constexpr Shape kShapes[] = {
    {"mlp1_forward", 1024, 144, 512, false, false},
    {"mlp2_forward", 1024, 512, 256, false, false},
    {"mlp2_weight_grad", 512, 1024, 256, true, false},
    {"mlp2_input_grad", 1024, 256, 512, false, true},
    {"din_first_product_term", 34000, 16, 80, false, false},
    {"din_layer2_forward", 34000, 80, 40, false, false},
    {"din_layer2_weight_grad", 80, 34000, 40, true, false},
    {"din_first_weight_grad", 16, 34000, 80, true, false},
    {"din_layer2_input_grad", 34000, 40, 80, false, true},
    {"scorer_din_block", 250, 80, 40, false, false},
    // One tile of DIN's unit in training (256 keys, DinAttention::kTileKeys).
    {"din_tile_first_product_term", 256, 16, 80, false, false},
    {"din_tile_layer2_forward", 256, 80, 40, false, false},
    {"din_tile_layer2_weight_grad", 80, 256, 40, true, false},
    {"din_tile_layer2_input_grad", 256, 40, 80, false, true},
    {"din_tile_first_weight_grad", 16, 256, 80, true, false},
    {"din_tile_first_input_grad", 256, 80, 16, false, true},
    {"scorer_mlp2", 100, 512, 256, false, false},
};

enum class Kernel { kGemm, kEigen, kAvx512 };

template <Kernel kKernel>
void BM_Gemm(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  state.SetLabel(s.what);
  const Matrix a = s.transpose_a ? Matrix::Random(s.k, s.m) : Matrix::Random(s.m, s.k);
  const Matrix b = s.transpose_b ? Matrix::Random(s.n, s.k) : Matrix::Random(s.k, s.n);
  Matrix c = Matrix::Zero(s.m, s.n);
  if (kKernel == Kernel::kAvx512 && !heed::gemm_avx512_available()) {
    state.SkipWithError("no AVX-512F");
    return;
  }
  for (auto _ : state) {
    if constexpr (kKernel == Kernel::kGemm) {
      heed::gemm(a, b, c, {.transpose_a = s.transpose_a, .transpose_b = s.transpose_b});
    } else if constexpr (kKernel == Kernel::kAvx512) {
      if (s.transpose_a) {
        heed::gemm_avx512_transposed_a(a, b, c);
      } else if (s.transpose_b) {
        heed::gemm_avx512_transposed_b(a, b, c);
      } else {
        heed::gemm_avx512(a, b, c);
      }
    } else if (s.transpose_a) {
      c.noalias() += a.transpose() * b;
    } else if (s.transpose_b) {
      c.noalias() += a * b.transpose();
    } else {
      c.noalias() += a * b;
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(s.m) * double(s.k) * double(s.n),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (Index i = 0; i < Index(std::size(kShapes)); ++i) b->Arg(i);
}

BENCHMARK(BM_Gemm<Kernel::kGemm>)->Name("gemm")->Apply(shapes);
BENCHMARK(BM_Gemm<Kernel::kAvx512>)->Name("avx512")->Apply(shapes);
BENCHMARK(BM_Gemm<Kernel::kEigen>)->Name("eigen")->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
