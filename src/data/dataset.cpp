#include "data/dataset.h"

namespace heed {

Dataset Dataset::select(const std::vector<std::size_t>& selected) const {
  Dataset out;
  out.rows = selected.size();
  out.keys.resize(keys.size());
  out.dense.resize(dense.size());
  out.slice_names = slice_names;
  out.source = source;
  for (std::size_t r : selected) {
    if (!labels.empty()) out.labels.push_back(labels[r]);
    if (!groups.empty()) out.groups.push_back(groups[r]);
    if (!split_keys.empty()) out.split_keys.push_back(split_keys[r]);
    if (!slices.empty()) out.slices.push_back(slices[r]);
    if (!source_lines.empty()) out.source_lines.push_back(source_lines[r]);
    for (std::size_t f = 0; f < keys.size(); ++f) {
      const KeyColumn& from = keys[f];
      if (from.keys.empty() && from.offsets.size() <= 1) continue;
      KeyColumn& to = out.keys[f];
      to.keys.insert(to.keys.end(), from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets[r]),
                     from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets[r + 1]));
      to.offsets.push_back(to.keys.size());
    }
    for (std::size_t d = 0; d < dense.size(); ++d) out.dense[d].push_back(dense[d][r]);
  }
  return out;
}

}  // namespace heed
