#pragma once
// Binary cross-entropy on logits, written so it never overflows:
//   loss(z, y) = max(z, 0) - z y + log(1 + exp(-|z|))      d loss / d z = sigmoid(z) - y
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/sigmoid.h"

namespace heed {

// Sum of the losses of n rows; writes scale * dloss/dz into dz (may be null).
inline double logloss_with_logits(const float* z, const float* y, std::size_t n, float* dz, float scale) {
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float zi = z[i];
    total += std::max(zi, 0.0f) - zi * y[i] + std::log1p(std::exp(-std::fabs(zi)));
    if (dz) dz[i] = (sigmoid(zi) - y[i]) * scale;
  }
  return total;
}

}  // namespace heed
