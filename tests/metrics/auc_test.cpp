#include "metrics/auc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "reference.h"

namespace heed::metrics {
namespace {

TEST(Auc, HandComputedCases) {
  const std::vector<float> labels = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(auc(std::vector<float>{0.1f, 0.2f, 0.8f, 0.9f}, labels), 1.0);
  EXPECT_DOUBLE_EQ(auc(std::vector<float>{0.9f, 0.8f, 0.2f, 0.1f}, labels), 0.0);
  EXPECT_DOUBLE_EQ(auc(std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}, labels), 0.5);
  // Pairs (pos, neg): (0.3, 0.1) win, (0.3, 0.3) tie, (0.2, 0.1) win, (0.2, 0.3) loss -> 2.5/4.
  EXPECT_DOUBLE_EQ(auc(std::vector<float>{0.1f, 0.3f, 0.3f, 0.2f}, labels), 0.625);
}

TEST(Auc, OneClassOrEmptyIsNaN) {
  EXPECT_TRUE(std::isnan(auc(std::vector<float>{0.1f, 0.9f}, std::vector<float>{1, 1})));
  EXPECT_TRUE(std::isnan(auc(std::vector<float>{0.1f, 0.9f}, std::vector<float>{0, 0})));
  EXPECT_TRUE(std::isnan(auc(std::vector<float>{}, std::vector<float>{})));
}

TEST(Auc, InfiniteScoresRankAtTheEnds) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_DOUBLE_EQ(auc(std::vector<float>{-inf, inf}, std::vector<float>{0, 1}), 1.0);
}

TEST(Auc, MatchesBruteForceWithManyTies) {
  for (std::size_t n : {2u, 7u, 50u, 300u, 1000u}) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      for (int levels : {1, 5, 1000}) {
        const auto rows = testing::random_rows(n, seed, levels, 0.3, 0);
        const double expected = testing::brute_force_auc(rows.scores, rows.labels);
        const double actual = auc(rows.scores, rows.labels);
        if (std::isnan(expected)) {
          EXPECT_TRUE(std::isnan(actual)) << "n=" << n << " seed=" << seed;
        } else {
          EXPECT_NEAR(actual, expected, 1e-12)
              << "n=" << n << " seed=" << seed << " levels=" << levels;
        }
      }
    }
  }
}

TEST(Auc, IndependentOfRowOrder) {
  const auto rows = testing::random_rows(2000, 11, 5, 0.2, 0);
  const auto mixed = testing::shuffled(rows, 12);
  // Tied blocks are counted, not ordered, so the result is exactly the same.
  EXPECT_EQ(auc(rows.scores, rows.labels), auc(mixed.scores, mixed.labels));
}

TEST(Auc, RejectsBadInput) {
  EXPECT_THROW(auc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{0}), Error);
  EXPECT_THROW(auc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{0, 0.5f}), Error);
  EXPECT_THROW(auc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{0, 2}), Error);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(auc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{nan, 1}), Error);
  try {
    auc(std::vector<float>{0.1f, 0.2f, nan, nan}, std::vector<float>{0, 1, 0, 1});
    FAIL() << "NaN score accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace heed::metrics
