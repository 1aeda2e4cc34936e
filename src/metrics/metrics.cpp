#include "metrics/metrics.h"

#include <limits>

namespace heed::metrics {

Metrics evaluate(std::span<const float> probabilities, std::span<const float> labels,
                 std::span<const std::uint64_t> groups) {
  Metrics m{};
  m.rows = probabilities.size();
  // logloss first: it checks lengths, labels and probability range before anything sorts.
  m.logloss = logloss(probabilities, labels);
  m.calibration = calibration(probabilities, labels);
  m.auc = auc(probabilities, labels);
  m.gauc = std::numeric_limits<double>::quiet_NaN();
  m.gauc_groups = 0;
  if (!groups.empty()) {
    const GroupAuc g = gauc(probabilities, labels, groups);
    m.gauc = g.value;
    m.gauc_groups = g.groups_used;
  }
  return m;
}

}  // namespace heed::metrics
