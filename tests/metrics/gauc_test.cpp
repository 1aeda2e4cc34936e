#include "metrics/gauc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "reference.h"

namespace heed::metrics {
namespace {

TEST(Gauc, HandComputedCase) {
  // Group 7: 3 rows, AUC 1. Group 3: 4 rows, AUC 0.5 (all tied). Group 9: one row, skipped.
  // Group 5: all positive, skipped. Weighted by rows: (3 * 1 + 4 * 0.5) / 7.
  const std::vector<float> scores = {0.9f, 0.1f, 0.2f, 0.4f, 0.4f, 0.4f, 0.4f, 0.5f, 0.3f, 0.6f};
  const std::vector<float> labels = {1, 0, 0, 1, 0, 1, 0, 1, 1, 1};
  const std::vector<std::uint64_t> groups = {7, 7, 7, 3, 3, 3, 3, 9, 5, 5};
  const GroupAuc g = gauc(scores, labels, groups);
  EXPECT_DOUBLE_EQ(g.value, 5.0 / 7.0);
  EXPECT_EQ(g.groups_used, 2u);
  EXPECT_EQ(g.groups_skipped, 2u);
}

TEST(Gauc, NoQualifyingGroupIsNaN) {
  const GroupAuc g = gauc(std::vector<float>{0.1f, 0.2f, 0.3f}, std::vector<float>{1, 0, 0},
                          std::vector<std::uint64_t>{1, 2, 2});
  EXPECT_TRUE(std::isnan(g.value));
  EXPECT_EQ(g.groups_used, 0u);
  EXPECT_EQ(g.groups_skipped, 2u);
  const GroupAuc empty = gauc({}, {}, {});
  EXPECT_TRUE(std::isnan(empty.value));
  EXPECT_EQ(empty.groups_used + empty.groups_skipped, 0u);
}

TEST(Gauc, OneGroupEqualsAuc) {
  const auto rows = testing::random_rows(500, 4, 5, 0.3, 1);
  EXPECT_NEAR(gauc(rows.scores, rows.labels, rows.groups).value,
              testing::brute_force_auc(rows.scores, rows.labels), 1e-12);
}

TEST(Gauc, MatchesBruteForceWithTiesAndSmallGroups) {
  // Many groups relative to rows gives groups of size 1 and single-class groups; a low or high
  // positive rate gives all-negative and all-positive groups.
  for (std::size_t n : {1u, 10u, 200u, 1500u}) {
    for (std::uint64_t groups : {1u, 5u, 60u, 700u}) {
      for (double rate : {0.1, 0.5, 0.9}) {
        const auto rows = testing::random_rows(n, n * 31 + groups, 5, rate, groups);
        const auto expected = testing::brute_force_gauc(rows.scores, rows.labels, rows.groups);
        const GroupAuc actual = gauc(rows.scores, rows.labels, rows.groups);
        const auto where = ::testing::Message()
                           << "n=" << n << " groups=" << groups << " rate=" << rate;
        EXPECT_EQ(actual.groups_used, expected.used) << where;
        EXPECT_EQ(actual.groups_skipped, expected.skipped) << where;
        if (std::isnan(expected.value)) {
          EXPECT_TRUE(std::isnan(actual.value)) << where;
        } else {
          EXPECT_NEAR(actual.value, expected.value, 1e-12) << where;
        }
      }
    }
  }
}

TEST(Gauc, IndependentOfRowOrder) {
  const auto rows = testing::random_rows(3000, 21, 5, 0.3, 100);
  const auto mixed = testing::shuffled(rows, 22);
  const GroupAuc a = gauc(rows.scores, rows.labels, rows.groups);
  const GroupAuc b = gauc(mixed.scores, mixed.labels, mixed.groups);
  // Groups are summed in ascending id and each group's AUC is order-free: exactly equal.
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.groups_used, b.groups_used);
  EXPECT_EQ(a.groups_skipped, b.groups_skipped);
}

TEST(Gauc, LargeGroupIsNotQuadratic) {
  // 200k rows in one group: seconds-to-minutes if anything were pairwise, milliseconds here.
  const auto rows = testing::random_rows(200000, 5, 1000, 0.5, 1);
  EXPECT_GT(gauc(rows.scores, rows.labels, rows.groups).value, 0.5);
}

TEST(Gauc, RejectsBadInput) {
  const std::vector<float> scores = {0.1f, 0.2f};
  const std::vector<float> labels = {0, 1};
  EXPECT_THROW(gauc(scores, labels, std::vector<std::uint64_t>{1}), Error);
  EXPECT_THROW(gauc(scores, std::vector<float>{1}, std::vector<std::uint64_t>{1, 1}), Error);
  EXPECT_THROW(gauc(scores, std::vector<float>{0, -1}, std::vector<std::uint64_t>{1, 1}), Error);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(gauc(std::vector<float>{0.1f, nan}, labels, std::vector<std::uint64_t>{1, 1}),
               Error);
}

}  // namespace
}  // namespace heed::metrics
