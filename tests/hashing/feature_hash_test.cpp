#include "hashing/feature_hash.h"

#include <random>
#include <string>

#include "hashing/feature_hash_inline.h"

#include <gtest/gtest.h>

namespace heed {
namespace {

// Golden values: a change here silently invalidates every saved model, so it must be deliberate.
TEST(FeatureHash, GoldenValues) {
  EXPECT_EQ(table_seed("movie_id"), 11250430462380603396ULL);
  EXPECT_EQ(hash_value("42", table_seed("movie_id")), 10681268328925121279ULL);
  EXPECT_EQ(hash_value("", 0), 0x2D06800538D394C2ULL /* XXH3-64 of "" as published */);
  EXPECT_EQ(hash_integer(7, table_seed("age")), 16912832649764939530ULL);
}

TEST(FeatureHash, TablesSeparateKeySpaces) {
  EXPECT_NE(hash_value("42", table_seed("movie_id")), hash_value("42", table_seed("user_id")));
  EXPECT_EQ(hash_value("42", table_seed("movie_id")), hash_value("42", table_seed("movie_id")));
}

TEST(FeatureHash, BucketsDifferFromStrings) {
  const auto seed = table_seed("age");
  EXPECT_NE(hash_integer(7, seed), hash_value("7", seed));
  EXPECT_NE(hash_integer(7, seed), hash_integer(8, seed));
}

// The reader hashes through the inline copies: they must give the library functions' keys for
// every length (each of XXH3's length classes, and past 240 bytes, where they hand over).
TEST(FeatureHash, InlineKeysAreTheSame) {
  std::mt19937_64 rng(11);
  std::string text;
  for (std::size_t length = 0; length <= 600; ++length) {
    text.resize(length);
    for (char& c : text) c = static_cast<char>(rng());
    for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, table_seed("movie_id"), rng()})
      ASSERT_EQ(hash_value_inline(text, seed), hash_value(text, seed)) << "length " << length;
  }
  for (int i = 0; i < 10000; ++i) {
    const auto value = static_cast<std::int64_t>(rng()) >> (i % 64);
    const std::uint64_t seed = rng();
    ASSERT_EQ(hash_integer_inline(value, seed), hash_integer(value, seed)) << value;
  }
  EXPECT_EQ(hash_integer_inline(7, table_seed("age")), 16912832649764939530ULL);
}

}  // namespace
}  // namespace heed
