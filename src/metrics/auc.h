#pragma once
// Area under the ROC curve, exact (no binning), by sorting.
#include <span>

namespace heed::metrics {

// Exact ROC AUC: the probability that a random positive scores above a random negative, ties
// counting half. O(n log n) by sorting. Returns NaN when the labels hold only one class (or
// none). Labels are 0/1 floats; NaN scores, other labels or mismatched lengths throw Error.
double auc(std::span<const float> scores, std::span<const float> labels);

// A row reduced to what ranking needs; shared with gauc, which sorts rows within groups.
struct ScoredLabel {
  float score;
  bool positive;
};

// AUC of rows already sorted by ascending score (no checks). Rows with equal scores form one
// block whose pairs count half, so the order inside a block does not change the result: AUC
// is bit-identical for any permutation of the input.
double auc_of_sorted(std::span<const ScoredLabel> rows);

}  // namespace heed::metrics
