#include "hashing/feature_hash.h"

#include <xxhash.h>  // the shared library; inlining it trips GCC 12 -Wmaybe-uninitialized under AVX-512

namespace heed {

std::uint64_t table_seed(std::string_view table_name) {
  return XXH3_64bits(table_name.data(), table_name.size());
}

std::uint64_t hash_value(std::string_view value, std::uint64_t seed) {
  return XXH3_64bits_withSeed(value.data(), value.size(), seed);
}

std::uint64_t hash_integer(std::int64_t value, std::uint64_t seed) {
  // Little-endian bytes of the value, so keys are the same on every machine heed runs on.
  unsigned char bytes[8];
  auto u = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(u >> (8 * i));
  return XXH3_64bits_withSeed(bytes, sizeof bytes, seed ^ 0x6275636b6574ULL /* "bucket" */);
}

}  // namespace heed
