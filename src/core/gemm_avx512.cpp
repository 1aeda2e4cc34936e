#include "core/gemm_avx512.h"

#include <immintrin.h>

#include <algorithm>

#include "core/avx512.h"
#include "core/error.h"

// GCC 12 reports the undefined pass-through operand of unmasked AVX-512 intrinsics inlined into
// a target("avx512f") function as maybe uninitialized; nothing reads it.
#if !defined(__clang__)  // clang has no such warning, and would warn about the name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace heed {
namespace {

using avx512::kLanes;
// A block of R rows by V registers of outputs keeps R V accumulators, V weights and one
// broadcast in the 32 registers. R per V: at least 8 independent sums (two FMA units, four
// cycles each) and at most about 25 accumulators. Outputs go in panels of 4 registers (64
// columns), but a last panel of 65 to 80 columns takes 5 (DIN's 80-wide layers would otherwise
// end in a one-register panel of 6 sums, too few to cover the latency).
template <int V>
constexpr int kRowsFor = V == 1 ? 12 : V == 2 ? 12 : V == 3 ? 8 : V == 4 ? 6 : 5;

struct Operands {
  const float* a;  // a(i, k) = a[i lda + k a_step]
  Index lda, a_step;
  const float* b;
  Index ldb;
  const Index* inputs;  // null: every k in [0, count)
  Index count;
  Index n;  // columns of b and c
  float* c;
  Index ldc;
  bool accumulate;  // false: c = a b, c's old values unread
};

// Rows i .. i + R, columns n0 .. n0 + 16 V (the last register masked to the columns left).
template <int R, int V>
HEED_AVX512_TARGET void block(const Operands& o, Index i, Index n0, Index t0, Index t1, bool load_c) {
  __mmask16 mask[V];
  for (int v = 0; v < V; ++v) mask[v] = avx512::lanes_left(o.n - (n0 + v * kLanes));
  // Everything the loop reads in locals: read through `o`, GCC reloads the fields and keeps
  // the accumulators in memory besides the registers.
  const Index lda = o.lda, a_step = o.a_step, ldb = o.ldb, ldc = o.ldc;
  const Index* inputs = o.inputs;
  float* c = o.c + i * ldc + n0;
  const float* a = o.a + i * lda;
  const float* b = o.b + n0;
  __m512 acc[R][V];
  HEED_UNROLL for (int r = 0; r < R; ++r)
    HEED_UNROLL for (int v = 0; v < V; ++v)
      acc[r][v] = load_c ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + v * kLanes) : _mm512_setzero_ps();
  for (Index t = t0; t < t1; ++t) {  // (a lambda would not inherit the target attribute)
    const Index k = inputs ? inputs[t] : t;
    const float* bk = b + k * ldb;
    __m512 w[V];
    HEED_UNROLL for (int v = 0; v < V; ++v) w[v] = _mm512_maskz_loadu_ps(mask[v], bk + v * kLanes);
    HEED_UNROLL for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + k * a_step]);
      HEED_UNROLL for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(x, w[v], acc[r][v]);
    }
  }
  HEED_UNROLL for (int r = 0; r < R; ++r)
    HEED_UNROLL for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(c + r * ldc + v * kLanes, mask[v], acc[r][v]);
}

// Rows i .. i + rows (at most R) of a panel.
template <int V, int R = kRowsFor<V>>
void rows_block(const Operands& o, Index i, Index rows, Index n0, Index t0, Index t1, bool load_c) {
  if constexpr (R > 1)
    if (rows < R) return rows_block<V, R - 1>(o, i, rows, n0, t0, t1, load_c);
  block<R, V>(o, i, n0, t0, t1, load_c);
}

// Every block of rows of the panel of V registers at column n0.
template <int V>
void panel(const Operands& o, Index M, Index n0, Index t0, Index t1, bool load_c) {
  constexpr Index kRows = kRowsFor<V>;
  for (Index i = 0; i < M; i += kRows) rows_block<V>(o, i, std::min(kRows, M - i), n0, t0, t1, load_c);
}

// The sum in slices of kSlice inputs (rows of b), and per slice column panels of 64 (or 80), so
// that a panel's slice of b ([kSlice, 64], 64 KiB) is read from cache by every block of rows after
// the first: without slices, a weight gradient summed over thousands of rows streams all of b
// from memory once per block of rows.
void run(const Operands& o, Index M) {
  HEED_CHECK(gemm_avx512_available(), "gemm_avx512: needs AVX-512F");
  if (o.count == 0) {  // an empty sum
    if (!o.accumulate)
      for (Index i = 0; i < M; ++i) std::fill(o.c + i * o.ldc, o.c + i * o.ldc + o.n, 0.0f);
    return;
  }
  constexpr Index kSlice = 256;
  for (Index t0 = 0; t0 < o.count; t0 += kSlice) {
    const Index t1 = std::min(o.count, t0 + kSlice);
    const bool load_c = o.accumulate || t0 > 0;
    for (Index n0 = 0; n0 < o.n;) {
      const Index left = (o.n - n0 + kLanes - 1) / kLanes;  // registers of columns left
      const Index vectors = left == 5 ? 5 : std::min<Index>(left, 4);
      switch (vectors) {
        case 1: panel<1>(o, M, n0, t0, t1, load_c); break;
        case 2: panel<2>(o, M, n0, t0, t1, load_c); break;
        case 3: panel<3>(o, M, n0, t0, t1, load_c); break;
        case 4: panel<4>(o, M, n0, t0, t1, load_c); break;
        default: panel<5>(o, M, n0, t0, t1, load_c); break;
      }
      n0 += vectors * kLanes;
    }
  }
}

void check(const ConstMatrixView& a, const ConstMatrixView& b, const MatrixView& c) {
  HEED_CHECK(a.cols() == b.rows() && c.rows() == a.rows() && c.cols() == b.cols(),
             "gemm_avx512: [{}, {}] x [{}, {}] does not make [{}, {}]", a.rows(), a.cols(), b.rows(), b.cols(),
             c.rows(), c.cols());
}

}  // namespace

bool gemm_avx512_available() { return avx512::cpu_has_avx512f(); }

void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate) {
  check(a, b, c);
  if (c.size() == 0) return;
  run({a.data(), a.outerStride(), 1, b.data(), b.outerStride(), nullptr, a.cols(), b.cols(), c.data(), c.outerStride(),
       accumulate},
      a.rows());
}

void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, std::span<const Index> inputs) {
  check(a, b, c);
  if (c.size() == 0) return;
  for (const Index k : inputs)
    HEED_CHECK(k >= 0 && k < a.cols(), "gemm_avx512: input {} outside [0, {})", k, a.cols());
  run({a.data(), a.outerStride(), 1, b.data(), b.outerStride(), inputs.data(), static_cast<Index>(inputs.size()),
       b.cols(), c.data(), c.outerStride(), /*accumulate=*/true},
      a.rows());
}

void gemm_avx512_transposed_a(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate) {
  HEED_CHECK(a.rows() == b.rows() && c.rows() == a.cols() && c.cols() == b.cols(),
             "gemm_avx512: [{}, {}]^T x [{}, {}] does not make [{}, {}]", a.rows(), a.cols(), b.rows(), b.cols(),
             c.rows(), c.cols());
  if (c.size() == 0) return;
  run({a.data(), 1, a.outerStride(), b.data(), b.outerStride(), nullptr, a.rows(), b.cols(), c.data(), c.outerStride(),
       accumulate},
      a.cols());
}

void gemm_avx512_transposed_b(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate) {
  HEED_CHECK(a.cols() == b.cols() && c.rows() == a.rows() && c.cols() == b.rows(),
             "gemm_avx512: [{}, {}] x [{}, {}]^T does not make [{}, {}]", a.rows(), a.cols(), b.rows(), b.cols(),
             c.rows(), c.cols());
  if (c.size() == 0) return;
  thread_local Matrix b_transposed;
  b_transposed = b.transpose();
  gemm_avx512(a, b_transposed, c, accumulate);
}

}  // namespace heed
