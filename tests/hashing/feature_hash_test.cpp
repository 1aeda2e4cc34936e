#include "hashing/feature_hash.h"

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

}  // namespace
}  // namespace heed
