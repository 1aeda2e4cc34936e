#pragma once
// Raw value + field -> 64-bit key. The key space of a value is chosen by its embedding table
// name (not its column), so features that share a table also share keys: "42" in the history
// column and "42" in the item column land on the same row.
#include <cstdint>
#include <string_view>

namespace heed {

// Seed of a table's key space, derived from the table name.
std::uint64_t table_seed(std::string_view table_name);

// Key of a raw string value in the key space `seed` (XXH3-64).
std::uint64_t hash_value(std::string_view value, std::uint64_t seed);

// Key of an integer token (a numeric bucket) in the key space `seed`.
std::uint64_t hash_integer(std::int64_t value, std::uint64_t seed);

namespace hash_detail {
// What hash_integer hashes: the value's little-endian bytes, so keys are the same on every
// machine heed runs on, in a key space of their own within the table's.
constexpr std::uint64_t kIntegerSeedMix = 0x6275636b6574ULL;  // "bucket"
inline void integer_bytes(std::int64_t value, unsigned char (&bytes)[8]) {
  auto u = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(u >> (8 * i));
}
}  // namespace hash_detail

}  // namespace heed
