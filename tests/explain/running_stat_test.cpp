// Streaming statistics of `heed explain` against two-pass formulas.
#include "explain/running_stat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

namespace heed {
namespace {

TEST(RunningStat, MatchesTwoPassMeanAndPopulationStd) {
  const std::vector<double> values = {0.5, 0.25, 1e3, -3.0, 0.125, 7.0, 7.0};
  explain::RunningStat s;
  for (double v : values) s.add(v);
  const double mean =
      std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  EXPECT_EQ(s.count(), values.size());
  EXPECT_NEAR(s.mean(), mean, 1e-12);
  EXPECT_NEAR(s.stddev(), std::sqrt(squares / static_cast<double>(values.size())), 1e-9);
  EXPECT_EQ(s.min(), -3.0);
  EXPECT_EQ(s.max(), 1e3);
  explain::RunningStat one;
  one.add(2.0);
  EXPECT_EQ(one.stddev(), 0.0);
}

TEST(Histogram, QuantilesAreAccurateToABinAndZoomKeepsCounts) {
  explain::Histogram h(0.0, 2.0, 200);
  for (int i = 0; i < 1000; ++i)
    h.add(0.5 + static_cast<double>(i) / 1000.0);  // uniform on [0.5, 1.5)
  h.add(-1.0);                                     // clamped into the first bin
  h.add(5.0);                                      // and the last
  EXPECT_EQ(h.total(), 1002u);
  EXPECT_NEAR(h.quantile(0.5), 1.0, 0.01);
  EXPECT_NEAR(h.quantile(0.25), 0.75, 0.01);
  const explain::Histogram zoomed = h.zoomed(0.5, 1.5, 10);
  EXPECT_EQ(zoomed.total(), 1000u);
  for (auto c : zoomed.counts()) EXPECT_EQ(c, 100u);
}

}  // namespace
}  // namespace heed
