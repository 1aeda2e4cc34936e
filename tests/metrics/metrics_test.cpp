#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "reference.h"

namespace heed::metrics {
namespace {

TEST(Evaluate, BundlesEveryMetric) {
  const auto rows = testing::random_rows(800, 41, 5, 0.3, 40);
  const Metrics m = evaluate(rows.scores, rows.labels, rows.groups);
  const auto g = testing::brute_force_gauc(rows.scores, rows.labels, rows.groups);
  EXPECT_EQ(m.rows, 800u);
  EXPECT_NEAR(m.auc, testing::brute_force_auc(rows.scores, rows.labels), 1e-12);
  EXPECT_NEAR(m.gauc, g.value, 1e-12);
  EXPECT_EQ(m.gauc_groups, g.used);
  EXPECT_DOUBLE_EQ(m.logloss, logloss(rows.scores, rows.labels));
  EXPECT_DOUBLE_EQ(m.calibration, calibration(rows.scores, rows.labels));
}

TEST(Evaluate, WithoutGroupsGaucIsNaN) {
  const auto rows = testing::random_rows(100, 42, 5, 0.3, 0);
  const Metrics m = evaluate(rows.scores, rows.labels, {});
  EXPECT_TRUE(std::isnan(m.gauc));
  EXPECT_EQ(m.gauc_groups, 0u);
  EXPECT_FALSE(std::isnan(m.auc));
}

TEST(Evaluate, IndependentOfRowOrder) {
  const auto rows = testing::random_rows(2000, 43, 5, 0.3, 50);
  const auto mixed = testing::shuffled(rows, 44);
  const Metrics a = evaluate(rows.scores, rows.labels, rows.groups);
  const Metrics b = evaluate(mixed.scores, mixed.labels, mixed.groups);
  EXPECT_NEAR(a.auc, b.auc, 1e-12);
  EXPECT_NEAR(a.gauc, b.gauc, 1e-12);
  EXPECT_NEAR(a.logloss, b.logloss, 1e-12);
  EXPECT_NEAR(a.calibration, b.calibration, 1e-12);
  EXPECT_EQ(a.gauc_groups, b.gauc_groups);
}

TEST(Evaluate, RejectsBadInput) {
  const std::vector<float> p = {0.2f, 0.7f};
  const std::vector<float> y = {0, 1};
  EXPECT_THROW(evaluate(p, std::vector<float>{0}, {}), Error);
  EXPECT_THROW(evaluate(p, y, std::vector<std::uint64_t>{1, 2, 3}), Error);
  EXPECT_THROW(evaluate(p, std::vector<float>{0, 3}, {}), Error);
}

}  // namespace
}  // namespace heed::metrics
