#include "data/dataset.h"

#include <algorithm>

namespace heed {

Dataset Dataset::select(const std::vector<std::size_t>& selected) const {
  Dataset out;
  out.keys.resize(keys.size());
  out.dense.resize(dense.size());
  out.slice_names = slice_names;
  out.append(*this, &selected);
  return out;
}

void Dataset::append(const Dataset& other, const std::vector<std::size_t>* selected) {
  if (keys.empty() && dense.empty() && rows == 0) {
    keys.resize(other.keys.size());
    dense.resize(other.dense.size());
  }
  // Slice values by name: other's index -> this one's.
  std::vector<std::uint32_t> slice_map(other.slice_names.size());
  for (std::size_t i = 0; i < other.slice_names.size(); ++i) {
    const auto it = std::find(slice_names.begin(), slice_names.end(), other.slice_names[i]);
    if (it == slice_names.end()) {
      slice_map[i] = static_cast<std::uint32_t>(slice_names.size());
      slice_names.push_back(other.slice_names[i]);
    } else {
      slice_map[i] = static_cast<std::uint32_t>(it - slice_names.begin());
    }
  }
  const std::size_t count = selected ? selected->size() : other.rows;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t r = selected ? (*selected)[i] : i;
    if (!other.labels.empty()) labels.push_back(other.labels[r]);
    if (!other.groups.empty()) groups.push_back(other.groups[r]);
    if (!other.split_keys.empty()) split_keys.push_back(other.split_keys[r]);
    if (!other.times.empty()) times.push_back(other.times[r]);
    if (!other.slices.empty()) slices.push_back(slice_map[other.slices[r]]);
    for (std::size_t f = 0; f < other.keys.size(); ++f) {
      const KeyColumn& from = other.keys[f];
      if (from.keys.empty() && from.offsets.size() <= 1) continue;
      KeyColumn& to = keys[f];
      to.keys.insert(to.keys.end(), from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets[r]),
                     from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets[r + 1]));
      to.offsets.push_back(to.keys.size());
    }
    for (std::size_t d = 0; d < other.dense.size(); ++d) dense[d].push_back(other.dense[d][r]);
  }
  rows += count;
}

}  // namespace heed
