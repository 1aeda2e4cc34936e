// Progress lines in a log (stderr not a terminal): only where some of the epoch is left, and
// without a made-up share or ETA while a streamed epoch's size is unknown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "train/progress.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

TEST(ProgressLog, NoLineInTheLastStretchOfAnEpoch) {
  Progress progress(ProgressMode::kLog, 1000, 3, /*log_seconds=*/0);
  progress.start_epoch(1);
  ::testing::internal::CaptureStderr();
  progress.update(950, 0.5);
  progress.update(1000, 0.5);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "95% and 100% lines say nothing the epoch line won't";
  ::testing::internal::CaptureStderr();
  progress.update(100, 0.5);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("epoch 1/3: 10%"));
}

TEST(ProgressLog, AnEpochOfUnknownSizeShowsRowsNotAShare) {
  Progress progress(ProgressMode::kLog, 0, 2, /*log_seconds=*/0);
  progress.start_epoch(1);
  ::testing::internal::CaptureStderr();
  progress.update(5000, 0.5);
  const std::string line = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(line, HasSubstr("epoch 1/2: 5000 rows so far"));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("%")));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("ETA")));
}

}  // namespace
}  // namespace heed
