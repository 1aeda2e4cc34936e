#include "train/validation_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace heed {
namespace {

using ::testing::HasSubstr;

Dataset labelled(std::size_t positives, std::size_t negatives) {
  Dataset d;
  d.rows = positives + negatives;
  d.labels.assign(positives, 1.0f);
  d.labels.insert(d.labels.end(), negatives, 0.0f);
  return d;
}

metrics::Metrics epoch(double auc, std::size_t gauc_groups) {
  return metrics::Metrics{auc, 0.5, 0.69, 1.0, 0, gauc_groups};
}

TEST(ValidationChecks, ATrustworthyValidationSetRaisesNothing) {
  const std::vector<metrics::Metrics> epochs = {epoch(0.48, 500), epoch(0.71, 500)};
  EXPECT_TRUE(validation_warnings(labelled(1000, 5000), true, epochs).empty());
  EXPECT_TRUE(validation_warnings(Dataset{}, true, {}).empty());  // no validation at all
}

TEST(ValidationChecks, TooFewPositivesOrNegatives) {
  const std::vector<metrics::Metrics> epochs = {epoch(0.7, 500)};
  const auto few_positives = validation_warnings(labelled(150, 5000), false, epochs);
  ASSERT_EQ(few_positives.size(), 1u);
  EXPECT_THAT(few_positives[0], HasSubstr("150 positive"));
  EXPECT_EQ(validation_warnings(labelled(5000, 20), false, epochs).size(), 1u);
  EXPECT_TRUE(validation_warnings(labelled(200, 200), false, epochs).empty());
}

TEST(ValidationChecks, TooFewUsersWithBothLabelsOnlyWhenGrouped) {
  const std::vector<metrics::Metrics> epochs = {epoch(0.7, 16)};
  const auto grouped = validation_warnings(labelled(1000, 1000), true, epochs);
  ASSERT_EQ(grouped.size(), 1u);
  EXPECT_THAT(grouped[0], HasSubstr("only 16 validation users"));
  EXPECT_TRUE(validation_warnings(labelled(1000, 1000), false, epochs).empty());
}

TEST(ValidationChecks, AucBelowHalfAtEveryEpoch) {
  const std::vector<metrics::Metrics> backwards = {epoch(0.46, 500), epoch(0.49, 500), epoch(0.47, 500)};
  const auto warnings = validation_warnings(labelled(1000, 1000), true, backwards);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("below 0.5 in all 3 epoch(s)"));
  const std::vector<metrics::Metrics> once_above = {epoch(0.46, 500), epoch(0.51, 500)};
  EXPECT_TRUE(validation_warnings(labelled(1000, 1000), true, once_above).empty());
}

TEST(ValidationChecks, EpochsAreReadBackFromTheHistory) {
  const auto history = nlohmann::ordered_json::parse(
      R"([{"epoch": 1, "valid": {"auc": 0.42, "gauc_users": 12}}, {"epoch": 2},
          {"epoch": 3, "valid": {"auc": null, "gauc_users": 0}}])");
  const auto epochs = validation_epochs(history);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(epochs[0].auc, 0.42);
  EXPECT_EQ(epochs[0].gauc_groups, 12u);
  EXPECT_TRUE(std::isnan(epochs[1].auc));
}

}  // namespace
}  // namespace heed
