#pragma once
// Checks shared by every metric. Metrics sit at the end of evaluation, where a silent
// mismatch (a short label column, logits passed as labels, a NaN from a diverged model)
// would turn into a plausible-looking number, so each problem is an Error instead.
#include <cstddef>
#include <span>
#include <string_view>

namespace heed::metrics {

// Throws unless `a` and `b` have the same number of rows.
void check_same_length(std::string_view a_name, std::size_t a_size, std::string_view b_name,
                       std::size_t b_size);

// Throws naming the first label that is not exactly 0 or 1.
void check_labels(std::span<const float> labels);

// Throws naming the first NaN value (`what` is "score" or "probability").
void check_not_nan(std::span<const float> values, std::string_view what);

// Throws naming the first value outside [0, 1]: logits passed as probabilities.
void check_probabilities(std::span<const float> probabilities);

}  // namespace heed::metrics
