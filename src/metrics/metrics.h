#pragma once
// Every evaluation metric of a CTR model in one call, for the trainer and `heed eval`.
#include <cstddef>
#include <cstdint>
#include <span>

#include "metrics/auc.h"
#include "metrics/gauc.h"
#include "metrics/logloss.h"

namespace heed::metrics {

struct Metrics {
  double auc;
  double gauc;  // NaN when no groups were given or none has both classes
  double logloss;
  double calibration;
  std::size_t rows;
  std::size_t gauc_groups;  // groups that entered gauc (both classes present)
};

// AUC, group AUC, log loss and calibration of probabilities against 0/1 labels. `groups` (one
// id per row, e.g. the user) may be empty, and gauc is then NaN.
Metrics evaluate(std::span<const float> probabilities, std::span<const float> labels,
                 std::span<const std::uint64_t> groups);

}  // namespace heed::metrics
