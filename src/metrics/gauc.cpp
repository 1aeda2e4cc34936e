#include "metrics/gauc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "metrics/auc.h"
#include "metrics/input_checks.h"

namespace heed::metrics {

GroupAuc gauc(std::span<const float> scores, std::span<const float> labels,
              std::span<const std::uint64_t> groups) {
  check_same_length("scores", scores.size(), "labels", labels.size());
  check_same_length("scores", scores.size(), "groups", groups.size());
  check_labels(labels);
  check_not_nan(scores, "score");

  struct GroupedRow {
    std::uint64_t group;
    ScoredLabel row;
  };
  std::vector<GroupedRow> rows(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    rows[i] = {groups[i], {scores[i], labels[i] == 1.0f}};
  }
  std::sort(rows.begin(), rows.end(), [](const GroupedRow& a, const GroupedRow& b) {
    return a.group != b.group ? a.group < b.group : a.row.score < b.row.score;
  });

  std::vector<ScoredLabel> group_rows;  // reused for each group
  GroupAuc result{std::numeric_limits<double>::quiet_NaN(), 0, 0};
  double weighted_auc = 0.0;
  double weight = 0.0;
  std::size_t begin = 0;
  while (begin < rows.size()) {
    std::size_t end = begin;
    group_rows.clear();
    for (; end < rows.size() && rows[end].group == rows[begin].group; ++end) {
      group_rows.push_back(rows[end].row);
    }
    const double group_auc = auc_of_sorted(group_rows);  // NaN exactly when single-class
    if (std::isnan(group_auc)) {
      ++result.groups_skipped;
    } else {
      const auto impressions = static_cast<double>(end - begin);
      weighted_auc += impressions * group_auc;
      weight += impressions;
      ++result.groups_used;
    }
    begin = end;
  }
  if (result.groups_used > 0) result.value = weighted_auc / weight;
  return result;
}

}  // namespace heed::metrics
