#include "data/dataset.h"

#include <algorithm>

#include <fmt/format.h>

namespace heed {

std::string Dataset::source_of(std::size_t r) const {
  if (r < source_lines.size()) return fmt::format("{}:{}", source_files[source_file[r]], source_lines[r]);
  return fmt::format("row {}", r + 1);
}

std::uint32_t Dataset::source_file_index(const std::string& path) {
  const auto it = std::find(source_files.begin(), source_files.end(), path);
  if (it != source_files.end()) return static_cast<std::uint32_t>(it - source_files.begin());
  source_files.push_back(path);
  return static_cast<std::uint32_t>(source_files.size() - 1);
}

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
  std::vector<std::uint32_t> file_map(other.source_files.size());
  for (std::size_t i = 0; i < other.source_files.size(); ++i) file_map[i] = source_file_index(other.source_files[i]);
  if (!selected) {
    append_all(other, slice_map, file_map);
    return;
  }
  const std::size_t count = selected->size();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t r = (*selected)[i];
    if (!other.labels.empty()) labels.push_back(other.labels[r]);
    if (!other.groups.empty()) groups.push_back(other.groups[r]);
    if (!other.split_keys.empty()) split_keys.push_back(other.split_keys[r]);
    if (!other.times.empty()) times.push_back(other.times[r]);
    if (!other.slices.empty()) slices.push_back(slice_map[other.slices[r]]);
    if (!other.source_lines.empty()) {
      source_file.push_back(file_map[other.source_file[r]]);
      source_lines.push_back(other.source_lines[r]);
    }
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

// Every row of `other`, a column at a time (what putting a file's parsed chunks together does).
void Dataset::append_all(const Dataset& other, const std::vector<std::uint32_t>& slice_map,
                         const std::vector<std::uint32_t>& file_map) {
  const auto extend = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  extend(labels, other.labels);
  extend(groups, other.groups);
  extend(split_keys, other.split_keys);
  extend(times, other.times);
  for (std::uint32_t s : other.slices) slices.push_back(slice_map[s]);
  if (!other.source_lines.empty()) {
    for (std::uint32_t f : other.source_file) source_file.push_back(file_map[f]);
    extend(source_lines, other.source_lines);
  }
  for (std::size_t f = 0; f < other.keys.size(); ++f) {
    const KeyColumn& from = other.keys[f];
    if (from.keys.empty() && from.offsets.size() <= 1) continue;
    KeyColumn& to = keys[f];
    const std::uint64_t shift = to.keys.size() - from.offsets[0];
    for (std::size_t r = 1; r < from.offsets.size(); ++r) to.offsets.push_back(from.offsets[r] + shift);
    to.keys.insert(to.keys.end(), from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets[0]),
                   from.keys.begin() + static_cast<std::ptrdiff_t>(from.offsets.back()));
  }
  for (std::size_t d = 0; d < other.dense.size(); ++d) extend(dense[d], other.dense[d]);
  rows += other.rows;
}

}  // namespace heed
