#include "metrics/input_checks.h"

#include <cmath>

#include "core/error.h"

namespace heed::metrics {

void check_same_length(std::string_view a_name, std::size_t a_size, std::string_view b_name,
                       std::size_t b_size) {
  HEED_CHECK(a_size == b_size, "metrics: {} has {} rows but {} has {}", a_name, a_size, b_name,
             b_size);
}

void check_labels(std::span<const float> labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    HEED_CHECK(labels[i] == 0.0f || labels[i] == 1.0f,
               "metrics: label at index {} is {}; labels must be 0 or 1", i, labels[i]);
  }
}

void check_not_nan(std::span<const float> values, std::string_view what) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    HEED_CHECK(!std::isnan(values[i]), "metrics: {} at index {} is NaN", what, i);
  }
}

void check_probabilities(std::span<const float> probabilities) {
  check_not_nan(probabilities, "probability");
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    HEED_CHECK(probabilities[i] >= 0.0f && probabilities[i] <= 1.0f,
               "metrics: probability at index {} is {}, outside [0, 1] (logits instead of "
               "probabilities?)",
               i, probabilities[i]);
  }
}

}  // namespace heed::metrics
