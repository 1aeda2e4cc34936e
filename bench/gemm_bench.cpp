// heed::gemm (OpenBLAS sgemm, one thread) against Eigen's own product on the shapes the
// reference model's training and scoring multiply (docs/performance.md). Each benchmark reports
// GFLOP/s; run both sides in one process and compare ratios, not absolute rates:
//   build/gemm_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include "core/gemm.h"

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
    {"scorer_mlp2", 100, 512, 256, false, false},
};

template <bool kBlas>
void BM_Gemm(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  state.SetLabel(s.what);
  const Matrix a = s.transpose_a ? Matrix::Random(s.k, s.m) : Matrix::Random(s.m, s.k);
  const Matrix b = s.transpose_b ? Matrix::Random(s.n, s.k) : Matrix::Random(s.k, s.n);
  Matrix c = Matrix::Zero(s.m, s.n);
  for (auto _ : state) {
    if constexpr (kBlas) {
      heed::gemm(a, b, c, {.transpose_a = s.transpose_a, .transpose_b = s.transpose_b});
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

BENCHMARK(BM_Gemm<true>)->Name("openblas")->Apply(shapes);
BENCHMARK(BM_Gemm<false>)->Name("eigen")->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
