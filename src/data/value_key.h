#pragma once
// The keys of a multi or sequence feature's values: the rules the row encoder applies to each
// cell, and the ones a DataFrame's lists are hashed by where they are read (text_table.h), so
// that both give the same keys. Inline, for the loops that hash every value.
#include <cstdint>
#include <string_view>

#include "config/schema.h"
#include "core/huge_pages.h"
#include "data/byte_search.h"
#include "hashing/feature_hash_inline.h"

namespace heed {

// False for a value that carries nothing (empty, or the feature's padding value); else `key` is
// its key in the table `seed` names.
inline bool value_key(const FeatureInfo& feature, std::uint64_t seed, std::string_view value, std::uint64_t& key) {
  if (value.empty() || value == feature.padding) return false;
  key = hash_value_inline(value, seed);
  return true;
}

// Appends the keys of a cell's values, split by the feature's separator, in order.
inline void append_text_keys(const FeatureInfo& feature, std::uint64_t seed, std::string_view text,
                             ColumnVector<std::uint64_t>& keys) {
  std::size_t start = 0;
  auto value_until = [&](std::size_t stop) {
    std::uint64_t key;
    if (value_key(feature, seed, text.substr(start, stop - start), key)) keys.push_back(key);
    start = stop + 1;
  };
  // A short cell is searched byte by byte: setting up the vector search costs more than it
  // (a sequence spread over columns holds one short value or none per cell).
  constexpr std::size_t kShortCell = 16;
  if (text.size() <= kShortCell) {
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == feature.separator) value_until(i);
  } else {
    for_each_byte(text, feature.separator, value_until);
  }
  value_until(text.size());
}

// Ends a row whose keys start at `first`: a sequence keeps its most recent max_len values, a
// multi-valued feature its first max_len. Returns the values given, before that cut (what
// DIN's alignment check compares).
inline std::size_t keep_max_len(const FeatureInfo& feature, ColumnVector<std::uint64_t>& keys, std::size_t first) {
  const std::size_t count = keys.size() - first;
  if (feature.max_len > 0 && count > feature.max_len) {
    if (feature.kind == FeatureKind::kSequence)
      keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(first),
                 keys.begin() + static_cast<std::ptrdiff_t>(first + count - feature.max_len));
    else
      keys.resize(first + feature.max_len);
  }
  return count;
}

}  // namespace heed
