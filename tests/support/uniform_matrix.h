#pragma once
// A matrix of values uniform in [-1, 1): the product tests' operands (core/gemm, core/gemm_avx512).
#include "core/rng.h"
#include "core/tensor.h"

namespace heed::testing {

inline Matrix uniform_matrix(Index rows, Index cols, Rng& rng) {
  Matrix m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = static_cast<float>(2.0 * rng.uniform() - 1.0);
  return m;
}

}  // namespace heed::testing
