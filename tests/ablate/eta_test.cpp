// The overall time left that `heed ablate` states after each run.
#include <gtest/gtest.h>

#include "ablate/eta.h"

namespace heed::ablate {
namespace {

TEST(AblationEta, MeanTrainedRunTimesTheRunsLeft) {
  EXPECT_EQ(eta_text(30.0, 3, 21), "about 4 min left (21 runs to train, 10 s each so far)");  // 3.5 min
  EXPECT_EQ(eta_text(12.0, 1, 1), "about 12 s left (1 run to train, 12 s each so far)");
}

TEST(AblationEta, NothingLeftOrNothingMeasuredSaysNothing) {
  EXPECT_EQ(eta_text(30.0, 3, 0), "");
  EXPECT_EQ(eta_text(0.0, 0, 5), "") << "reused runs alone give no time to go by";
}

TEST(AblationEta, Durations) {
  EXPECT_EQ(duration_text(42.4), "42 s");
  EXPECT_EQ(duration_text(250), "4 min");
  EXPECT_EQ(duration_text(7300), "2 h 2 min");
}

}  // namespace
}  // namespace heed::ablate
