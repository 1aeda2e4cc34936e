#pragma once
// The key of one value of a multi or sequence feature: the rule the row encoder applies to each
// value it splits from a cell, and the one a DataFrame's lists are hashed by where they are read
// (text_table.h), so that both give the same keys. Inline, for the loops that hash every value.
#include <cstdint>
#include <string_view>

#include "config/schema.h"
#include "hashing/feature_hash_inline.h"

namespace heed {

// False for a value that carries nothing (empty, or the feature's padding value); else `key` is
// its key in the table `seed` names.
inline bool value_key(const FeatureInfo& feature, std::uint64_t seed, std::string_view value, std::uint64_t& key) {
  if (value.empty() || value == feature.padding) return false;
  key = hash_value_inline(value, seed);
  return true;
}

}  // namespace heed
