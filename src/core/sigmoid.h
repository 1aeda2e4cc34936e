#pragma once
// The logistic function, written so it never overflows: for z < 0, exp(z) stays in (0, 1].
// The logit -> probability step of every score; the vectorized form for whole rows of gates
// and Dice is lowp::sigmoid (core/lowp.h).
#include <cmath>

namespace heed {

inline float sigmoid(float z) {
  return z >= 0 ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z));
}

}  // namespace heed
