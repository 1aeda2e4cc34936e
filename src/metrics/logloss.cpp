#include "metrics/logloss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "metrics/input_checks.h"

namespace heed::metrics {

namespace {

// Keeps log() finite for predictions of exactly 0 or 1.
constexpr double kEpsilon = 1e-7;

void check_inputs(std::span<const float> probabilities, std::span<const float> labels) {
  check_same_length("probabilities", probabilities.size(), "labels", labels.size());
  check_labels(labels);
  check_probabilities(probabilities);
}

}  // namespace

double logloss(std::span<const float> probabilities, std::span<const float> labels) {
  check_inputs(probabilities, labels);
  if (probabilities.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total = 0.0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const double p = std::clamp(static_cast<double>(probabilities[i]), kEpsilon, 1.0 - kEpsilon);
    total -= labels[i] == 1.0f ? std::log(p) : std::log1p(-p);
  }
  return total / static_cast<double>(probabilities.size());
}

double calibration(std::span<const float> probabilities, std::span<const float> labels) {
  check_inputs(probabilities, labels);
  double predicted = 0.0;
  double observed = 0.0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    predicted += probabilities[i];
    observed += labels[i];
  }
  // Both means share the row count, so their ratio is the ratio of sums.
  if (observed == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return predicted / observed;
}

}  // namespace heed::metrics
