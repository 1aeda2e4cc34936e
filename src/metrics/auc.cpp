#include "metrics/auc.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "metrics/input_checks.h"

namespace heed::metrics {

double auc(std::span<const float> scores, std::span<const float> labels) {
  check_same_length("scores", scores.size(), "labels", labels.size());
  check_labels(labels);
  check_not_nan(scores, "score");

  std::vector<ScoredLabel> rows(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) rows[i] = {scores[i], labels[i] == 1.0f};
  std::sort(rows.begin(), rows.end(),
            [](const ScoredLabel& a, const ScoredLabel& b) { return a.score < b.score; });
  return auc_of_sorted(rows);
}

double auc_of_sorted(std::span<const ScoredLabel> rows) {
  // Walk blocks of equal scores from lowest to highest: every positive in a block beats all
  // negatives seen in earlier blocks and ties with the negatives of its own block.
  double negatives_below = 0.0;
  double positives = 0.0;
  double wins = 0.0;  // pairs won, ties counting half
  std::size_t i = 0;
  while (i < rows.size()) {
    double block_pos = 0.0;
    double block_neg = 0.0;
    const float score = rows[i].score;
    for (; i < rows.size() && rows[i].score == score; ++i) {
      (rows[i].positive ? block_pos : block_neg) += 1.0;
    }
    wins += block_pos * (negatives_below + 0.5 * block_neg);
    negatives_below += block_neg;
    positives += block_pos;
  }
  if (positives == 0.0 || negatives_below == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return wins / (positives * negatives_below);
}

}  // namespace heed::metrics
