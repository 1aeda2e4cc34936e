#include "hashing/feature_hash.h"

// XXH3 compiled into this file rather than called in the shared library: the reader hashes
// every value of every row, mostly a few bytes each, where the library's call through the PLT
// and its length dispatch cost as much as the hash. The algorithm and its output are the same.
// GCC 12 warns that an AVX-512 intrinsic's deliberately undefined operand (`__Y = __Y` in
// avx512fintrin.h) is uninitialized once xxhash.h's long-input loop is inlined; the warning is
// about the compiler's own header, and fires where the functions are emitted (the end of this
// file), so it is off for this whole file, which holds nothing but these calls.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace heed {

std::uint64_t table_seed(std::string_view table_name) {
  return XXH3_64bits(table_name.data(), table_name.size());
}

std::uint64_t hash_value(std::string_view value, std::uint64_t seed) {
  return XXH3_64bits_withSeed(value.data(), value.size(), seed);
}

std::uint64_t hash_integer(std::int64_t value, std::uint64_t seed) {
  unsigned char bytes[8];
  hash_detail::integer_bytes(value, bytes);
  return XXH3_64bits_withSeed(bytes, sizeof bytes, seed ^ hash_detail::kIntegerSeedMix);
}

}  // namespace heed
