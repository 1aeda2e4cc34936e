// Splits: the time carve holds out the latest rows (ties at the cut go together), the hash carve
// keeps a user's rows on one side, and a glob names a split's files.
#include "train/data_splits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "core/error.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

TEST(CarveLatest, HoldsOutTheLatestShareWithTies) {
  const std::vector<double> times = {5, 1, 9, 3, 9, 7, 2, 8, 6, 4};
  TimeCarve carve = carve_latest(times, 0.2);
  EXPECT_EQ(carve.hold, (std::vector<std::size_t>{2, 4}));  // the two 9s
  EXPECT_EQ(carve.cut_time, 9);
  carve = carve_latest(times, 0.3);  // 8 and both 9s
  EXPECT_EQ(carve.hold, (std::vector<std::size_t>{2, 4, 7}));
  EXPECT_EQ(carve.keep.size(), 7u);
  // Ties at the cut all go to validation, so no validation row is older than a training row.
  carve = carve_latest(std::vector<double>{1, 2, 2, 2, 3}, 0.4);
  EXPECT_EQ(carve.hold, (std::vector<std::size_t>{1, 2, 3, 4}));
  for (std::size_t k : carve.keep)
    for (std::size_t h : carve.hold) EXPECT_LE(std::vector<double>({1, 2, 2, 2, 3})[k], std::vector<double>({1, 2, 2, 2, 3})[h]);
}

std::string rows_with_users_and_times(int n) {
  std::string text = "label\tuser\titem\tts\n";
  for (int i = 0; i < n; ++i) text += fmt::format("{}\tu{}\ti{}\t{}\n", i % 2, i % 37, i % 11, 1000 + (i * 7) % n);
  return text;
}

TEST(LoadSplits, TimeSplitOnATimestampColumn) {
  TempDir dir("splits");
  write_file(dir / "train.tsv", rows_with_users_and_times(1000));
  const Config config = parse_config(
      "[data]\ntest = \"\"\nvalid_fraction = 0.25\nvalid_by_time = \"ts\"\n[features.user]\n[features.item]\n",
      "t.toml", {"data.dir=" + dir.path().string()});
  const Splits s = load_splits(config, Schema::from_config(config));
  EXPECT_EQ(s.valid.rows, 250u);
  EXPECT_EQ(s.train.rows, 750u);
  const double newest_train = *std::max_element(s.train.times.begin(), s.train.times.end());
  const double oldest_valid = *std::min_element(s.valid.times.begin(), s.valid.times.end());
  EXPECT_LT(newest_train, oldest_valid);
  EXPECT_THAT(s.valid_source, HasSubstr("latest 25%"));

  write_file(dir / "bad.tsv", "label\tuser\titem\tts\n1\tu\ti\tyesterday\n");
  const Config bad = parse_config(
      "[data]\ntrain = \"bad.tsv\"\ntest = \"\"\nvalid_by_time = \"ts\"\n[features.user]\n[features.item]\n", "t.toml",
      {"data.dir=" + dir.path().string()});
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_splits(bad, Schema::from_config(bad)), ParseError),
              HasSubstr("bad.tsv:2: column 4 (ts): data.valid_by_time column 'ts' needs a number, found 'yesterday'"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(parse_config("[data]\nvalid_by = \"user\"\nvalid_by_time = \"ts\"\n[features.user]\n",
                                              "t.toml"),
                                 Error),
              HasSubstr("set one"));
}

TEST(LoadSplits, HashSplitByUserKeepsEachUserOnOneSide) {
  TempDir dir("splits");
  write_file(dir / "train.tsv", rows_with_users_and_times(2000));
  const Config config = parse_config(
      "[data]\ntest = \"\"\nvalid_fraction = 0.3\nvalid_by = \"user\"\n"
      "[eval]\ngroup = \"user\"\n[features.user]\n[features.item]\n",
      "t.toml", {"data.dir=" + dir.path().string()});
  const Splits s = load_splits(config, Schema::from_config(config));
  const std::set<std::uint64_t> train_users(s.train.groups.begin(), s.train.groups.end());
  for (std::uint64_t u : s.valid.groups) EXPECT_EQ(train_users.count(u), 0u);
  EXPECT_GT(s.valid.rows, 0u);
  EXPECT_GT(s.train.rows, s.valid.rows);
}

TEST(LoadSplits, GlobPatternReadsEveryPart) {
  TempDir dir("splits");
  write_file(dir / "part-a.tsv", rows_with_users_and_times(100));
  write_file(dir / "part-b.tsv", rows_with_users_and_times(50));
  const Config config =
      parse_config("[data]\ntrain = \"part-*.tsv\"\ntest = \"part-b.tsv\"\nvalid_fraction = 0\n[features.user]\n",
                   "t.toml", {"data.dir=" + dir.path().string()});
  const Splits s = load_splits(config, Schema::from_config(config));
  EXPECT_EQ(s.train.rows, 150u);
  EXPECT_EQ(s.test.rows, 50u);
}

}  // namespace
}  // namespace heed
