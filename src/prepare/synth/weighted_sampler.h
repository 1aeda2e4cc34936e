#pragma once
// Draws an index with probability proportional to a fixed weight, through heed::Rng so the
// draws are identical on every standard library (std::discrete_distribution is not).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace heed::synth {

class WeightedSampler {
 public:
  WeightedSampler() = default;
  explicit WeightedSampler(const std::vector<double>& weights) {
    cumulative_.reserve(weights.size());
    double total = 0.0;
    for (double w : weights) {
      HEED_CHECK(w >= 0.0, "sampler weight must be non-negative, got {}", w);
      total += w;
      cumulative_.push_back(total);
    }
    HEED_CHECK(total > 0.0, "sampler needs at least one positive weight");
  }

  std::size_t size() const { return cumulative_.size(); }

  std::size_t draw(Rng& rng) const {
    const double target = rng.uniform() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
    // uniform() < 1, so `it` is in range except through rounding at the very top.
    return std::min<std::size_t>(it - cumulative_.begin(), cumulative_.size() - 1);
  }

 private:
  std::vector<double> cumulative_;  // running sums of the weights
};

}  // namespace heed::synth
