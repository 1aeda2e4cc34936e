#include "core/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/gemm_avx512.h"

namespace heed {
namespace {

// Row-major leading dimension. A one-row view may report any outer stride; BLAS only needs it
// to be at least the row's width.
blasint leading_dimension(Index rows, Index cols, Index outer_stride) {
  return static_cast<blasint>(rows == 1 ? std::max({outer_stride, cols, Index{1}}) : outer_stride);
}

// c = beta c, where beta 0 overwrites whatever c held (NaN included).
void scale(MatrixView c, float beta) {
  if (beta == 0.0f) c.setZero();
  else if (beta != 1.0f) c *= beta;
}

// Products Eigen's kernel does better. One row or one column is a matrix-vector product: sgemm
// would pack its operands for nothing. A tall, narrow product (DIN's activation unit over every
// history item of a batch: tens of thousands of rows of 16 to 80 values, as many result rows)
// is bound by memory traffic, and OpenBLAS's packing adds a copy of the tall operand
// (bench/gemm_bench.cpp: Eigen up to 1.45x on those shapes, OpenBLAS 1.4-1.8x on the MLP's).
bool eigen_does_better(Index m, Index k, Index n) {
  constexpr Index kTall = 4096, kNarrow = 128;
  return m == 1 || n == 1 || (m >= kTall && k <= kNarrow && n <= kNarrow);
}

template <class A, class B>
void eigen_product(const A& a, const B& b, MatrixView c, const GemmOptions& how) {
  if (how.beta == 0.0f) {
    c.noalias() = how.alpha * (a * b);
  } else {
    scale(c, how.beta);
    c.noalias() += how.alpha * (a * b);
  }
}

void eigen_gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c,
                const GemmOptions& how) {
  if (how.transpose_a && how.transpose_b) eigen_product(a.transpose(), b.transpose(), c, how);
  else if (how.transpose_a) eigen_product(a.transpose(), b, c, how);
  else if (how.transpose_b) eigen_product(a, b.transpose(), c, how);
  else eigen_product(a, b, c, how);
}

// OpenBLAS's chosen core has no AVX-512 kernels (only its SkylakeX, Cooperlake and
// SapphireRapids cores do) while this CPU has AVX-512F.
bool blas_below_avx512() {
  static const bool core_without_avx512 = [] {
    std::string core = openblas_get_corename();
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return core.find("skylakex") == std::string::npos && core.find("cooperlake") == std::string::npos &&
           core.find("sapphirerapids") == std::string::npos;
  }();
  static const bool below = core_without_avx512 && gemm_avx512_available();
  return below;
}

void use_one_blas_thread() {
  // Once per process, before the first product: OpenBLAS would otherwise split every call over
  // all cores, underneath heed's own threads.
  static const bool done = (openblas_set_num_threads(1), true);
  (void)done;
}

}  // namespace

void gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, GemmOptions how) {
  const Index m = how.transpose_a ? a.cols() : a.rows();
  const Index k = how.transpose_a ? a.rows() : a.cols();
  const Index kb = how.transpose_b ? b.cols() : b.rows();
  const Index n = how.transpose_b ? b.rows() : b.cols();
  HEED_CHECK(k == kb && c.rows() == m && c.cols() == n,
             "gemm: [{}, {}] x [{}, {}] does not make [{}, {}]", m, k, kb, n, c.rows(), c.cols());
  if (m == 0 || n == 0) return;
  if (k == 0) return scale(c, how.beta);  // an empty sum: only the scaling of c is left
  if (eigen_does_better(m, k, n)) return eigen_gemm(a, b, c, how);
  // Narrow input gradients (dy W^T with at most 128 outputs a row: DIN's unit) take heed's kernel
  // on any AVX-512 core: OpenBLAS zeroes c in a pass of its own before summing, and its AVX-512
  // kernels run these shapes 4-11% slower (bench/gemm_bench.cpp, docs/performance.md). On the
  // MLP's wider ones OpenBLAS is the faster.
  constexpr Index kNarrowOutputs = 128;
  const bool narrow_input_gradient =
      how.transpose_b && !how.transpose_a && n <= kNarrowOutputs && gemm_avx512_available();
  if ((blas_below_avx512() || narrow_input_gradient) && how.alpha == 1.0f && !(how.transpose_a && how.transpose_b)) {
    // beta 0 overwrites c in the kernel; any other beta scales c, then the product adds on.
    const bool accumulate = how.beta != 0.0f;
    if (accumulate) scale(c, how.beta);
    if (how.transpose_a) return gemm_avx512_transposed_a(a, b, c, accumulate);
    if (how.transpose_b) return gemm_avx512_transposed_b(a, b, c, accumulate);
    return gemm_avx512(a, b, c, accumulate);
  }
  use_one_blas_thread();
  cblas_sgemm(CblasRowMajor, how.transpose_a ? CblasTrans : CblasNoTrans,
              how.transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), how.alpha, a.data(),
              leading_dimension(a.rows(), a.cols(), a.outerStride()), b.data(),
              leading_dimension(b.rows(), b.cols(), b.outerStride()), how.beta, c.data(),
              leading_dimension(c.rows(), c.cols(), c.outerStride()));
}

std::string gemm_kernel_name() {
  const std::string core = openblas_get_corename();
  return blas_below_avx512() ? "heed avx512 (OpenBLAS core " + core + ")" : "OpenBLAS " + core;
}

}  // namespace heed
