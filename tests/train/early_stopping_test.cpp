// What a resumed run does with a raised train.epochs or train.patience after early stopping:
// it trains on when there is something to train, and otherwise says which key to raise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "core/error.h"
#include "train/early_stopping.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

// A run of 7 epochs that early stopping ended: best at epoch 5, then 2 epochs without improvement.
EarlyStopping stopped_at_7() {
  EarlyStopping s;
  for (std::int64_t epoch = 1; epoch <= 7; ++epoch) s.observe(epoch, epoch <= 5 ? 0.5 + 0.01 * epoch : 0.5, 2);
  return s;
}

TrainConfig train_keys(std::int64_t epochs, std::int64_t patience) {
  TrainConfig t;
  t.epochs = epochs;
  t.patience = patience;
  return t;
}

TEST(ResumedStopping, RaisedPatienceContinuesARunThatStoppedEarly) {
  const EarlyStopping saved = stopped_at_7();
  ASSERT_TRUE(saved.finished);
  ASSERT_EQ(saved.best_epoch, 5);
  const EarlyStopping resumed = resumed_stopping(saved, 7, train_keys(10, 2), train_keys(20, 5));
  EXPECT_FALSE(resumed.finished);
  EXPECT_EQ(resumed.best_epoch, 5);
  EXPECT_EQ(resumed.bad_epochs, 2) << "the epochs without improvement so far still count";
}

TEST(ResumedStopping, RaisedEpochsAloneAfterEarlyStoppingIsRefusedWithTheKeyToRaise) {
  const std::string message =
      HEED_ERROR_MESSAGE(resumed_stopping(stopped_at_7(), 7, train_keys(10, 2), train_keys(20, 2)), Error);
  EXPECT_THAT(message, HasSubstr("stopped early after epoch 7"));
  EXPECT_THAT(message, HasSubstr("raise train.patience above 2"));
}

TEST(ResumedStopping, RaisedPatienceAloneAtTheLastEpochIsRefusedWithTheKeyToRaise) {
  EarlyStopping done;
  done.observe(1, 0.6, 2);
  done.observe(2, 0.7, 2);
  const std::string message = HEED_ERROR_MESSAGE(resumed_stopping(done, 2, train_keys(2, 2), train_keys(2, 5)), Error);
  EXPECT_THAT(message, HasSubstr("raise train.epochs"));
}

TEST(ResumedStopping, NothingRaisedLeavesTheStateAsItWas) {
  const EarlyStopping resumed = resumed_stopping(stopped_at_7(), 7, train_keys(10, 2), train_keys(10, 2));
  EXPECT_TRUE(resumed.finished);
  EXPECT_EQ(resumed.to_json(), stopped_at_7().to_json());
}

TEST(ResumedStopping, TheAnnouncementNamesTheEpochsAndTheKeptOne) {
  EXPECT_EQ(early_stop_text(stopped_at_7(), "auc", 2),
            "early stopping after epoch 7: valid auc has not improved for 2 epochs (train.patience = 2); "
            "keeping epoch 5");
}

}  // namespace
}  // namespace heed
