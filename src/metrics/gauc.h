#pragma once
// Group AUC: ranking quality within each group (usually a user), the number CTR papers report
// because a recommender only ever ranks items for one user at a time.
#include <cstddef>
#include <cstdint>
#include <span>

namespace heed::metrics {

struct GroupAuc {
  double value;                // NaN if no group qualifies
  std::size_t groups_used;     // groups with both a positive and a negative
  std::size_t groups_skipped;  // groups whose labels are all equal
};

// Group AUC as in the DIN paper and the BARS benchmark: the AUC of each group, weighted by
// the group's number of impressions (rows), over groups that hold both a positive and a
// negative; single-class groups are skipped because their AUC is undefined.
// O(n log n): rows are sorted by (group, score). Groups are summed in ascending id, so the
// result is bit-identical for any order of the input rows.
GroupAuc gauc(std::span<const float> scores, std::span<const float> labels,
              std::span<const std::uint64_t> groups);

}  // namespace heed::metrics
