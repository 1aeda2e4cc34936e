#pragma once
// The finite-difference checker every layer test shares. A layer's scalar test loss is
// L = sum(output * R) for a fixed random R, so dL/doutput = R; the analytic gradient the layer's
// backward returns for each input or parameter entry is compared with the central difference
//   (L(v + h) - L(v - h)) / 2h
// on a sample of entries. Layers run in float, so the tolerance is relative and loose-ish.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "core/rng.h"
#include "core/tensor.h"

namespace heed::testing {

inline Matrix random_matrix(Index rows, Index cols, Rng& rng, float scale = 1.0f) {
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal()) * scale;
  return m;
}

// sum(a * b) in double.
inline double dot(const ConstMatrixView& a, const ConstMatrixView& b) {
  double s = 0;
  for (Index r = 0; r < a.rows(); ++r)
    for (Index c = 0; c < a.cols(); ++c) s += static_cast<double>(a(r, c)) * b(r, c);
  return s;
}

struct GradientCheckOptions {
  float step = 1e-2f;          // h
  double relative_tolerance = 2e-2;
  double absolute_tolerance = 2e-3;
  Index max_entries = 60;      // entries sampled per tensor
  std::uint64_t seed = 7;
};

// `values` is perturbed in place (and restored); `analytic` holds the gradient the layer
// computed for it; `loss` recomputes the scalar loss from scratch.
inline void expect_gradient_matches(const std::string& what, Matrix& values, const Matrix& analytic,
                                    const std::function<double()>& loss, const GradientCheckOptions& o = {}) {
  ASSERT_EQ(values.rows(), analytic.rows()) << what;
  ASSERT_EQ(values.cols(), analytic.cols()) << what;
  Rng rng(o.seed);
  const Index n = values.size();
  const Index checks = std::min(n, o.max_entries);
  int failures = 0;
  for (Index k = 0; k < checks; ++k) {
    const Index i = checks == n ? k : static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
    const float original = values.data()[i];
    values.data()[i] = original + o.step;
    const double up = loss();
    values.data()[i] = original - o.step;
    const double down = loss();
    values.data()[i] = original;
    const double numeric = (up - down) / (2.0 * o.step);
    const double got = analytic.data()[i];
    const double allowed = o.absolute_tolerance + o.relative_tolerance * std::max(std::fabs(numeric), std::fabs(got));
    if (std::fabs(numeric - got) > allowed && failures++ < 5) {
      ADD_FAILURE() << what << "[" << i << "]: analytic " << got << " vs finite difference " << numeric;
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << checks << " entries differ";
}

}  // namespace heed::testing
