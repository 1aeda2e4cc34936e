#include "metrics/logloss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "reference.h"

namespace heed::metrics {
namespace {

TEST(LogLoss, MatchesDirectFormula) {
  Rng rng(3);
  std::vector<float> p;
  std::vector<float> y;
  for (int i = 0; i < 1000; ++i) {
    p.push_back(static_cast<float>(rng.uniform()));
    y.push_back(rng.bernoulli(0.3) ? 1.0f : 0.0f);
  }
  double expected = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double q = std::min(std::max(static_cast<double>(p[i]), 1e-7), 1.0 - 1e-7);
    expected += -(y[i] * std::log(q) + (1.0 - y[i]) * std::log(1.0 - q));
  }
  expected /= static_cast<double>(p.size());
  EXPECT_NEAR(logloss(p, y), expected, 1e-12);
}

TEST(LogLoss, HandComputed) {
  EXPECT_NEAR(logloss(std::vector<float>{0.5f, 0.5f}, std::vector<float>{0, 1}), std::log(2.0),
              1e-15);
  EXPECT_NEAR(logloss(std::vector<float>{0.8f}, std::vector<float>{1}),
              -std::log(static_cast<double>(0.8f)), 1e-15);
}

TEST(LogLoss, ClampsCertainPredictions) {
  // Right and certain: the loss of 1 - 1e-7, essentially zero, not exactly zero.
  const double right = logloss(std::vector<float>{0.0f, 1.0f}, std::vector<float>{0, 1});
  EXPECT_NEAR(right, -std::log(1.0 - 1e-7), 1e-15);
  // Wrong and certain: finite, -log(1e-7) ~ 16.12, instead of infinity.
  const double wrong = logloss(std::vector<float>{1.0f, 0.0f}, std::vector<float>{0, 1});
  EXPECT_TRUE(std::isfinite(wrong));
  EXPECT_NEAR(wrong, -std::log(1e-7), 1e-9);
}

TEST(LogLoss, EmptyIsNaN) {
  EXPECT_TRUE(std::isnan(logloss({}, {})));
}

TEST(Calibration, MeanPredictionOverMeanLabel) {
  // Mean prediction 0.25, mean label 0.5.
  EXPECT_DOUBLE_EQ(
      calibration(std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f}, std::vector<float>{1, 1, 0, 0}),
      0.5);
  EXPECT_DOUBLE_EQ(calibration(std::vector<float>{0.5f, 0.5f}, std::vector<float>{1, 0}), 1.0);
  EXPECT_TRUE(std::isnan(calibration(std::vector<float>{0.5f, 0.5f}, std::vector<float>{0, 0})));
  EXPECT_TRUE(std::isnan(calibration({}, {})));
}

TEST(LogLoss, IndependentOfRowOrder) {
  const auto rows = testing::random_rows(3000, 31, 1000, 0.3, 0);
  const auto mixed = testing::shuffled(rows, 32);
  EXPECT_NEAR(logloss(rows.scores, rows.labels), logloss(mixed.scores, mixed.labels), 1e-12);
  EXPECT_NEAR(calibration(rows.scores, rows.labels), calibration(mixed.scores, mixed.labels),
              1e-12);
}

TEST(LogLoss, RejectsBadInput) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto metric : {&logloss, &calibration}) {
    EXPECT_THROW(metric(std::vector<float>{0.5f}, std::vector<float>{0, 1}), Error);
    EXPECT_THROW(metric(std::vector<float>{0.5f}, std::vector<float>{0.3f}), Error);
    EXPECT_THROW(metric(std::vector<float>{nan}, std::vector<float>{1}), Error);
    EXPECT_THROW(metric(std::vector<float>{2.5f}, std::vector<float>{1}), Error);  // a logit
    EXPECT_THROW(metric(std::vector<float>{-0.1f}, std::vector<float>{1}), Error);
  }
}

}  // namespace
}  // namespace heed::metrics
