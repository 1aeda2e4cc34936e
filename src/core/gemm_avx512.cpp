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
constexpr int kRows = 6, kVectors = 4;  // 24 accumulators, 4 weight registers, 1 broadcast

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
};

// Rows i .. i + R, columns n0 .. n0 + 16 V (the last register masked to the columns left).
template <int R, int V>
HEED_AVX512_TARGET void block(const Operands& o, Index i, Index n0, Index t0, Index t1) {
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
    HEED_UNROLL for (int v = 0; v < V; ++v) acc[r][v] = _mm512_maskz_loadu_ps(mask[v], c + r * ldc + v * kLanes);
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

template <int V>
void rows_block(const Operands& o, Index i, Index rows, Index n0, Index t0, Index t1) {
  switch (rows) {
    case 1: return block<1, V>(o, i, n0, t0, t1);
    case 2: return block<2, V>(o, i, n0, t0, t1);
    case 3: return block<3, V>(o, i, n0, t0, t1);
    case 4: return block<4, V>(o, i, n0, t0, t1);
    case 5: return block<5, V>(o, i, n0, t0, t1);
    default: return block<kRows, V>(o, i, n0, t0, t1);
  }
}

// The sum in slices of kSlice inputs (rows of b), and per slice column panels of 64, so that
// a panel's slice of b ([kSlice, 64], 64 KiB) is read from cache by every block of rows after
// the first: without slices, a weight gradient summed over thousands of rows streams all of b
// from memory once per block of rows.
void run(const Operands& o, Index M) {
  HEED_CHECK(gemm_avx512_available(), "gemm_avx512: needs AVX-512F");
  constexpr Index kSlice = 256;
  for (Index t0 = 0; t0 < o.count; t0 += kSlice) {
    const Index t1 = std::min(o.count, t0 + kSlice);
    for (Index n0 = 0; n0 < o.n; n0 += kVectors * kLanes) {
      const Index vectors = std::min<Index>(kVectors, (o.n - n0 + kLanes - 1) / kLanes);
      for (Index i = 0; i < M; i += kRows) {
        const Index rows = std::min<Index>(kRows, M - i);
        switch (vectors) {
          case 1: rows_block<1>(o, i, rows, n0, t0, t1); break;
          case 2: rows_block<2>(o, i, rows, n0, t0, t1); break;
          case 3: rows_block<3>(o, i, rows, n0, t0, t1); break;
          default: rows_block<kVectors>(o, i, rows, n0, t0, t1); break;
        }
      }
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

void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c) {
  check(a, b, c);
  if (c.size() == 0) return;
  run({a.data(), a.outerStride(), 1, b.data(), b.outerStride(), nullptr, a.cols(), b.cols(), c.data(), c.outerStride()},
      a.rows());
}

void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, std::span<const Index> inputs) {
  check(a, b, c);
  if (c.size() == 0) return;
  for (const Index k : inputs)
    HEED_CHECK(k >= 0 && k < a.cols(), "gemm_avx512: input {} outside [0, {})", k, a.cols());
  run({a.data(), a.outerStride(), 1, b.data(), b.outerStride(), inputs.data(), static_cast<Index>(inputs.size()),
       b.cols(), c.data(), c.outerStride()},
      a.rows());
}

void gemm_avx512_transposed_a(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c) {
  HEED_CHECK(a.rows() == b.rows() && c.rows() == a.cols() && c.cols() == b.cols(),
             "gemm_avx512: [{}, {}]^T x [{}, {}] does not make [{}, {}]", a.rows(), a.cols(), b.rows(), b.cols(),
             c.rows(), c.cols());
  if (c.size() == 0) return;
  run({a.data(), 1, a.outerStride(), b.data(), b.outerStride(), nullptr, a.rows(), b.cols(), c.data(), c.outerStride()},
      a.cols());
}

}  // namespace heed
