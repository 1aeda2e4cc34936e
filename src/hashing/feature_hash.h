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

}  // namespace heed
