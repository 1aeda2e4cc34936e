#pragma once
// Turns raw dense numeric values into model inputs under each feature's stated transform:
//   none: x      log1p: sign(x) log(1 + |x|)      standardize: (x - mean) / std
//   minmax: (x - min) / (max - min)
// Statistics come from the training data (fit) and are saved with the model, so scoring uses
// exactly the training transform. A missing value (NaN) becomes 0, the training mean under
// standardize.
#include <cmath>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/schema.h"
#include "data/dataset.h"

namespace heed {

class NumericNormalizer {
 public:
  NumericNormalizer() = default;
  explicit NumericNormalizer(const Schema& schema);

  void fit(const Dataset& train);
  // The same over data that arrives in parts (a streamed training file): add each, then finish.
  bool needs_statistics() const;  // false: no transform reads statistics, fitting is a no-op
  void add_to_fit(const Dataset& part);
  void finish_fit();
  // Fitting on several processes (a distributed run's ranks): each adds its own rows, hands its
  // partial statistics over as bytes, and every one merges all of them in the same order before
  // finish_fit, so all end with the same transform.
  std::string partial_fit() const;
  void merge_partial_fits(const std::vector<std::string>& parts);
  float apply(std::size_t dense_index, float raw) const {
    if (raw != raw) return 0.0f;  // missing
    const Stat& s = stats_[dense_index];
    float x = raw;
    if (s.log1p) x = x >= 0 ? std::log1p(x) : -std::log1p(-x);
    return (x - s.shift) * s.scale;
  }

  void save(std::ostream& out) const;
  void load(std::istream& in);

 private:
  struct Stat {
    bool log1p = false;
    float shift = 0.0f, scale = 1.0f;
  };
  struct Running {
    double sum = 0, sum_sq = 0, low = INFINITY, high = -INFINITY;
    std::size_t n = 0;
  };
  std::vector<NumericTransform> transforms_;
  std::vector<Stat> stats_;
  std::vector<Running> running_;  // while fitting
};

}  // namespace heed
