#pragma once
// The keys of feature_hash.h computed in the caller, for the reader's inner loop, which hashes
// every value of every row, mostly a few bytes each: there a call costs as much as the hash.
// Same functions, same keys; include it only where that matters (it pulls in xxhash.h whole).
//
// Inputs up to 240 bytes are hashed here; longer ones go to hash_value(), whose XXH3 uses the
// CPU's vector units. Here XXH3 is built without them (XXH_VECTOR 0, its scalar code), which
// changes nothing for inputs this short: its vector code only serves longer ones. It also keeps
// GCC 12 from warning inside the AVX-512 intrinsics (see feature_hash.cpp) in every includer.
#include <cstdint>
#include <string_view>

#include "hashing/feature_hash.h"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#ifndef XXH_VECTOR
#define XXH_VECTOR 0
#endif
#include <xxhash.h>

namespace heed {

inline std::uint64_t hash_value_inline(std::string_view value, std::uint64_t seed) {
  if (value.size() > 240) return hash_value(value, seed);
  return XXH3_64bits_withSeed(value.data(), value.size(), seed);
}

inline std::uint64_t hash_integer_inline(std::int64_t value, std::uint64_t seed) {
  unsigned char bytes[8];
  hash_detail::integer_bytes(value, bytes);
  return XXH3_64bits_withSeed(bytes, sizeof bytes, seed ^ hash_detail::kIntegerSeedMix);
}

}  // namespace heed
