#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/taobao.h"

namespace heed::recipes {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const char* const kHeader =
    "label\tuser_id\titem_id\tcategory_id\ttimestamp\thour_of_day\tweekday\thist_item_ids\t"
    "hist_category_ids\thist_behaviors\tuser_activity\titem_views_before\tuser_engagement\titem_recency\t"
    "category_share\titem_popularity\titem_engagement\n";

constexpr long kStart = 1511539200;          // 2017-11-25 00:00 China time, a Saturday
constexpr long kEnd = 1512316800;            // 2017-12-04 00:00 China time
constexpr long kCutoff = kEnd - 86400;       // the last day (a Sunday) is the test part

std::string action(long user, long item, long category, const char* behaviour, long time) {
  return fmt::format("{},{},{},{},{}\n", user, item, category, behaviour, time);
}

// In the file's order; the recipe must not depend on it.
std::vector<std::string> actions() {
  return {
      action(1, 100, 7, "pv", kStart + 1000),    // row: carted in the same second -> 1
      action(1, 100, 7, "cart", kStart + 1000),
      action(1, 200, 8, "pv", kStart + 2000),    // row: bought exactly one window later -> 0
      action(1, 200, 8, "buy", kStart + 5600),
      action(1, 100, 7, "pv", kStart + 6000),    // row: favourited 3599 s later -> 1
      action(1, 100, 7, "fav", kStart + 9599),
      action(2, 300, 9, "pv", kCutoff - 100),    // its window crosses into the test day: dropped
      action(2, 300, 9, "pv", kCutoff),          // test row, carted 10 s later -> 1
      action(2, 300, 9, "cart", kCutoff + 10),
      action(2, 400, 9, "pv", kEnd - 100),       // its window runs past the log: dropped
      action(3, 500, 9, "pv", kStart - 1),       // outside the period: skipped
      action(3, 500, 9, "pv", kEnd),
  };
}

TaobaoOptions options_for(const TempDir& dir) {
  TaobaoOptions options;
  options.source = dir / "src";
  options.out = dir / "out";
  return options;
}

TEST(TaobaoRecipe, ViewsLabelledByLaterEngagementWithHistoriesStrictlyBefore) {
  TempDir dir("taobao");
  std::filesystem::create_directories(dir / "src");
  std::string text;
  for (const std::string& line : actions()) text += line;
  write_file(dir / "src" / "UserBehavior.csv", text);
  const PrepareSummary summary = prepare_taobao(options_for(dir));
  EXPECT_EQ(summary.train_rows, 3u);
  EXPECT_EQ(summary.test_rows, 1u);
  const std::string train = read_file(dir / "out" / "train.tsv");
  // The user's past: views and engagements so far, views of this very item, the actions since
  // it was last touched (the cart two actions back) and the share of them in its category;
  // the item's tallies over every user count only the days before the view's, so none yet on
  // the first day.
  EXPECT_EQ(train, fmt::format("{}1\t1\t100\t7\t{}\t00\tSat\t\t\t\t0\t0\tnone\tnever\tnone\t0\tnone\n"
                               "0\t1\t200\t8\t{}\t00\tSat\t100|100\t7|7\tpv|cart\t1-4\t0\t0.5+\tnever\t0\t0\tnone\n"
                               "1\t1\t100\t7\t{}\t01\tSat\t100|100|200|200\t7|7|8|8\tpv|cart|pv|buy\t1-4\t1\t0.5+\t2-3\t"
                               "0.4+\t0\tnone\n",
                               kHeader, kStart + 1000, kStart + 2000, kStart + 6000));
  // The censored view of the day before is the test view's past: its last action, and the
  // item's one view (not engaged) of the earlier days.
  EXPECT_EQ(read_file(dir / "out" / "test.tsv"),
            fmt::format("{}1\t2\t300\t9\t{}\t00\tSun\t300\t9\tpv\t1-4\t1\t0\t1\t0.4+\t1\t0\n", kHeader, kCutoff));
  const std::string json = read_file(dir / "out" / "prepare.json");
  EXPECT_THAT(json, HasSubstr("\"out_of_period\": 2"));
  EXPECT_THAT(json, HasSubstr("\"views\": 6"));
  EXPECT_THAT(json, HasSubstr("\"views_dropped_window_censored\": 2"));

  // Reversed input lines give the same files; max_history keeps the most recent actions.
  std::string reversed;
  const auto lines = actions();
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) reversed += *it;
  write_file(dir / "src" / "UserBehavior.csv", reversed);
  prepare_taobao(options_for(dir));
  EXPECT_EQ(read_file(dir / "out" / "train.tsv"), train);
  TaobaoOptions shorter = options_for(dir);
  shorter.max_history = 1;
  prepare_taobao(shorter);
  EXPECT_THAT(read_file(dir / "out" / "train.tsv"), HasSubstr("\t01\tSat\t200\t8\tbuy\t1-4\t1\t0.5+\t2-3\t0.4+\t0\tnone\n"));
  // A wider window turns the buy at exactly one hour into a positive.
  TaobaoOptions wider = options_for(dir);
  wider.label_window = 3601;
  prepare_taobao(wider);
  EXPECT_THAT(read_file(dir / "out" / "train.tsv"), HasSubstr("1\t1\t200\t8\t"));
}

// A log of `count` actions over a few hundred users, in random order: views and deeper actions
// on a small catalogue, so labels, histories, censored views and both parts all occur.
std::string random_log(std::size_t count, std::uint32_t seed) {
  std::mt19937 random(seed);
  const char* const behaviours[] = {"pv", "pv", "pv", "fav", "cart", "buy"};
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    const long user = 1 + static_cast<long>(random() % 400);
    const long item = 1000 + static_cast<long>(random() % 60);
    text += action(user, item, item % 7, behaviours[random() % 6],
                   kStart + static_cast<long>(random() % (kEnd - kStart)));
  }
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> sorted_lines(const std::filesystem::path& file) {
  std::vector<std::string> lines = lines_of(read_file(file));
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> lines_of_sorted(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> folder_listing(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// item_popularity and item_engagement tally every user's actions of the item on the days
// before the view's (China time); the same day's, even earlier in it, wait for the next day.
// (Day 2: four views of item 100 before it, a buy and a fav.)
TEST(TaobaoRecipe, ItemTalliesCountEveryUserOnEarlierDays) {
  TempDir dir("taobao_items");
  std::filesystem::create_directories(dir / "src");
  const long day = 86400;
  write_file(dir / "src" / "UserBehavior.csv",
             action(1, 100, 7, "pv", kStart + 100) + action(1, 100, 7, "buy", kStart + 200) +
                 action(2, 100, 7, "pv", kStart + 300) +  // day 0: two views, one buy
                 action(3, 100, 7, "pv", kStart + day + 10) + action(3, 100, 7, "fav", kStart + day + 20) +
                 action(4, 100, 7, "pv", kStart + day + 5000) +  // day 1: after user 3's view and fav
                 action(5, 100, 7, "pv", kStart + 2 * day + 10) + action(6, 200, 7, "pv", kStart + 2 * day + 10));
  // The tallies are folded into their table in batches of an eighth of the bucket budget: 64
  // bytes folds every action on its own, into a table that already holds others.
  for (const std::size_t budget : {std::size_t{256} << 20, std::size_t{64}}) {
    TaobaoOptions options = options_for(dir);
    options.bucket_bytes = budget;
    prepare_taobao(options);
    std::vector<std::string> tallies;  // user, item, then the last two columns
    for (const std::string& line : lines_of(read_file(dir / "out" / "train.tsv"))) {
      if (line.rfind("label", 0) == 0) continue;
      std::vector<std::string> cells;
      std::istringstream in(line);
      for (std::string cell; std::getline(in, cell, '\t');) cells.push_back(cell);
      ASSERT_EQ(cells.size(), 17u) << line;
      tallies.push_back(cells[1] + " " + cells[2] + ": " + cells[15] + " " + cells[16]);
    }
    std::sort(tallies.begin(), tallies.end());  // buckets change the order of users
    EXPECT_EQ(tallies, (std::vector<std::string>{"1 100: 0 none", "2 100: 0 none", "3 100: 2 0.35-0.5",
                                                 "4 100: 2 0.35-0.5", "5 100: 3-5 0.35-0.5", "6 200: 0 none"}))
        << budget;
  }
}

std::size_t bucket_count_in(const std::filesystem::path& out) {
  return nlohmann::json::parse(read_file(out / "prepare.json"))["buckets"]["count"].get<std::size_t>();
}

// Each user's rows form one run in the file (no user comes back after another's rows).
bool users_contiguous(const std::filesystem::path& file) {
  std::set<std::string> finished;
  std::string current;
  const std::vector<std::string> lines = lines_of(read_file(file));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t start = lines[i].find('\t') + 1;
    const std::string user = lines[i].substr(start, lines[i].find('\t', start) - start);
    if (user == current) continue;
    finished.insert(current);
    if (finished.count(user) > 0) return false;
    current = user;
  }
  return true;
}

TEST(TaobaoRecipeBuckets, SpreadingUsersOverBucketsKeepsEveryRow) {
  TempDir dir("taobao_buckets");
  std::filesystem::create_directories(dir / "src");
  const std::string log = random_log(4000, 7);
  write_file(dir / "src" / "UserBehavior.csv", log);

  TaobaoOptions whole = options_for(dir);
  whole.out = dir / "whole";
  const PrepareSummary in_memory = prepare_taobao(whole);
  ASSERT_EQ(bucket_count_in(whole.out), 1u);
  EXPECT_GT(in_memory.train_rows, 1000u);
  EXPECT_GT(in_memory.test_rows, 50u);

  TaobaoOptions spread = options_for(dir);
  spread.out = dir / "spread";
  spread.bucket_bytes = 4096;  // 256 actions a bucket
  const PrepareSummary bucketed = prepare_taobao(spread);
  EXPECT_GT(bucket_count_in(spread.out), 10u);
  EXPECT_EQ(bucketed.train_rows, in_memory.train_rows);
  EXPECT_EQ(bucketed.test_rows, in_memory.test_rows);
  for (const char* name : {"train.tsv", "test.tsv"}) {
    EXPECT_EQ(sorted_lines(spread.out / name), sorted_lines(whole.out / name)) << name;
    EXPECT_TRUE(users_contiguous(spread.out / name)) << name;
  }
  const auto counts = [](const std::filesystem::path& out) {
    return nlohmann::json::parse(read_file(out / "prepare.json"))["counts"];
  };
  EXPECT_EQ(counts(spread.out), counts(whole.out));

  // A compressed source: its bucket count is an estimate, its rows the same.
  std::filesystem::remove(dir / "src" / "UserBehavior.csv");
  gzFile gz = gzopen((dir / "src" / "UserBehavior.csv.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, log.data(), static_cast<unsigned>(log.size())), static_cast<int>(log.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  spread.out = dir / "spread_gz";
  prepare_taobao(spread);
  EXPECT_GT(bucket_count_in(spread.out), 1u);
  for (const char* name : {"train.tsv", "test.tsv"}) {
    EXPECT_EQ(sorted_lines(spread.out / name), sorted_lines(whole.out / name)) << name;
  }
}

TEST(TaobaoRecipeBuckets, TemporaryFilesAreRemovedOnSuccessAndOnError) {
  TempDir dir("taobao_bucket_files");
  std::filesystem::create_directories(dir / "src");
  std::string log = random_log(3000, 11);
  write_file(dir / "src" / "UserBehavior.csv", log);
  TaobaoOptions options = options_for(dir);
  options.bucket_bytes = 4096;
  prepare_taobao(options);
  ASSERT_GT(bucket_count_in(options.out), 1u);
  EXPECT_EQ(folder_listing(options.out),
            (std::vector<std::string>{"prepare.json", "test.tsv", "train.tsv", "valid.tsv"}));

  // A bad row at the end: the bucket files are written by then, and go with the error.
  const std::size_t lines = lines_of(log).size();
  log += "1,100,7,click,1511540200\n";
  write_file(dir / "src" / "UserBehavior.csv", log);
  options.out = dir / "failed";
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), ParseError),
              HasSubstr(fmt::format("UserBehavior.csv:{}: column 4 (behavior_type)", lines + 1)));
  EXPECT_EQ(folder_listing(options.out), std::vector<std::string>{});
}

std::string error_for(const std::string& text) {
  TempDir dir("taobao_bad");
  std::filesystem::create_directories(dir / "src");
  write_file(dir / "src" / "UserBehavior.csv", text);
  return HEED_ERROR_MESSAGE(prepare_taobao(options_for(dir)), ParseError);
}

TEST(TaobaoRecipeErrors, NameFileLineAndColumn) {
  const std::string good = action(1, 100, 7, "pv", kStart + 1000);
  EXPECT_THAT(error_for(good + "1,100,7,click,1511540200\n"),
              HasSubstr("UserBehavior.csv:2: column 4 (behavior_type): expected a behaviour pv, fav, cart or buy, found 'click'"));
  EXPECT_THAT(error_for(good + "1,100,7,pv,soon\n"),
              HasSubstr("UserBehavior.csv:2: column 5 (timestamp): expected an integer, found 'soon'"));
  EXPECT_THAT(error_for(good + "1,-5,7,pv,1511540200\n"),
              HasSubstr("UserBehavior.csv:2: column 2 (item_id): expected an integer in [0, 4294967295]"));
  EXPECT_THAT(error_for(good + "1,100,7,pv\n"),
              HasSubstr("UserBehavior.csv:2: column 5 (timestamp): expected 5 fields"));
  EXPECT_THAT(error_for(""), HasSubstr("the file is empty"));
}

TEST(TaobaoRecipe, ValidationIsTheDayBeforeTestForEveryUser) {
  TempDir dir("taobao_valid");
  std::filesystem::create_directories(dir / "src");
  const long valid_start = kCutoff - 86400;
  write_file(dir / "src" / "UserBehavior.csv",
             action(1, 100, 7, "pv", valid_start - 4000) +   // train: its window ends before valid
                 action(1, 101, 7, "pv", valid_start - 100) +  // window crosses into valid: dropped
                 action(1, 102, 7, "pv", valid_start + 50) +   // valid, carted -> 1
                 action(1, 102, 7, "cart", valid_start + 70) +
                 action(2, 200, 8, "pv", kCutoff - 4000) +     // valid -> 0
                 action(2, 201, 8, "pv", kCutoff - 10) +       // crosses into test: dropped
                 action(2, 202, 8, "pv", kCutoff + 5));        // test
  const PrepareSummary summary = prepare_taobao(options_for(dir));
  EXPECT_EQ(summary.train_rows, 1u);
  EXPECT_EQ(summary.valid_rows, 2u);
  EXPECT_EQ(summary.test_rows, 1u);
  const auto valid = lines_of(read_file(dir / "out" / "valid.tsv"));
  ASSERT_EQ(valid.size(), 3u);
  EXPECT_EQ(valid[1].substr(0, 10), "1\t1\t102\t7\t");
  EXPECT_EQ(valid[2].substr(0, 10), "0\t2\t200\t8\t");
  EXPECT_THAT(read_file(dir / "out" / "prepare.json"), HasSubstr("\"views_dropped_window_censored\": 2"));
  // valid_days = 0: no validation file, the validation day's views train.
  TaobaoOptions none = options_for(dir);
  none.valid_days = 0;
  std::filesystem::remove_all(dir / "out");
  const PrepareSummary without = prepare_taobao(none);
  EXPECT_EQ(without.train_rows, 4u);  // 100, 101 (it crosses no line now), 102 and 200
  EXPECT_EQ(without.valid_rows, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "valid.tsv"));
}

TEST(TaobaoRecipe, NextItemTaskOverEveryActionSeededAndIndependentOfBuckets) {
  TempDir dir("taobao_next");
  std::filesystem::create_directories(dir / "src");
  write_file(dir / "src" / "UserBehavior.csv", random_log(4000, 5));
  TaobaoOptions options = options_for(dir);
  options.task = "next-item";
  const PrepareSummary summary = prepare_taobao(options);
  // Every kept action but each user's first is a pair; each user has one test and (with three
  // or more actions) one valid pair.
  const auto json = nlohmann::json::parse(read_file(dir / "out" / "prepare.json"));
  EXPECT_EQ(json["task"], "next-item");
  const std::size_t kept = json["counts"]["lines"].get<std::size_t>() - json["counts"]["out_of_period"].get<std::size_t>();
  const std::size_t users = summary.test_rows / 2;
  EXPECT_EQ(users, 400u);
  EXPECT_EQ(summary.train_rows + summary.valid_rows + summary.test_rows, 2 * (kept - users));
  const auto test = lines_of(read_file(dir / "out" / "test.tsv"));
  EXPECT_EQ(test[0], "label\tuser_id\titem_id\tcategory_id\thist_item_ids\thist_category_ids");
  // Items 1000..1059 with category item % 7: every negative carries its own item's category.
  for (std::size_t r = 1; r < test.size(); ++r) {
    std::istringstream cells(test[r]);
    std::string label, user, item, category;
    std::getline(cells, label, '\t');
    std::getline(cells, user, '\t');
    std::getline(cells, item, '\t');
    std::getline(cells, category, '\t');
    EXPECT_EQ(std::stol(category), std::stol(item) % 7) << test[r];
  }
  const std::string train = read_file(dir / "out" / "train.tsv");
  // Buckets change only the order of users, never a row; another seed changes the negatives.
  TaobaoOptions bucketed = options;
  bucketed.bucket_bytes = 16 * 1000;
  prepare_taobao(bucketed);
  EXPECT_EQ(sorted_lines(dir / "out" / "train.tsv"), lines_of_sorted(train));
  TaobaoOptions reseeded = options;
  reseeded.seed = 2;
  prepare_taobao(reseeded);
  EXPECT_NE(read_file(dir / "out" / "train.tsv"), train);
}

TEST(TaobaoRecipe, OnErrorSkipLeavesBadLinesOutCountedAndWritten) {
  TempDir dir("taobao_skip");
  std::filesystem::create_directories(dir / "src");
  std::string text;
  for (const std::string& line : actions()) text += line;
  // A bad behaviour in the middle and a truncated last line, as a head of the big log ends.
  text = action(1, 100, 7, "click", kStart + 10) + text + "2,300,9,pv";
  write_file(dir / "src" / "UserBehavior.csv", text);
  TaobaoOptions options = options_for(dir);
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), ParseError),
              HasSubstr("UserBehavior.csv:1: column 4 (behavior_type)"));
  options.errors.on_error = OnError::kSkip;
  options.errors.max_skip_fraction = 0.2;
  const PrepareSummary summary = prepare_taobao(options);
  EXPECT_EQ(summary.train_rows, 3u);  // the same rows as without the bad lines
  EXPECT_EQ(summary.test_rows, 1u);
  ASSERT_EQ(summary.notes.size(), 1u);
  EXPECT_THAT(summary.notes[0], HasSubstr("skipped 2 of 14 rows"));
  const auto json = nlohmann::json::parse(read_file(dir / "out" / "prepare.json"));
  EXPECT_EQ(json["counts"]["skipped_lines"], 2);
  EXPECT_EQ(json["counts"]["skipped_by_reason"]["field_count"], 1);
  const std::string rejects = read_file(dir / "out" / "rejected_lines.txt");
  EXPECT_THAT(rejects, HasSubstr("UserBehavior.csv:14"));
  EXPECT_THAT(rejects, HasSubstr("expected 5 fields"));
  EXPECT_THAT(rejects, HasSubstr("\n2,300,9,pv\n"));
  EXPECT_THAT(rejects, HasSubstr("1,100,7,click,"));
  // Too many bad lines still stop the run.
  options.errors.max_skip_fraction = 0.1;
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("skipped 2 of"));
}

TEST(TaobaoRecipeErrors, Options) {
  TempDir dir("taobao_opts");
  std::filesystem::create_directories(dir / "src");
  TaobaoOptions options = options_for(dir);
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("no UserBehavior.csv"));
  options.label_window = 0;
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("label_window must be a positive"));
  options = options_for(dir);
  options.test_days = 9;
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("test_days must be at least 1"));
  options = options_for(dir);
  options.user_fraction = 0;
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("user_fraction must be in (0, 1]"));
  options = options_for(dir);
  options.bucket_bytes = 8;
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error), HasSubstr("bucket_bytes must hold at least one action"));
  write_file(dir / "src" / "UserBehavior.csv", random_log(4000, 3));
  options.bucket_bytes = 64;  // four actions a bucket
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_taobao(options), Error),
              HasSubstr("buckets of bucket_bytes = 64 (--bucket-mb), more than 512; allow more memory"));
}

}  // namespace
}  // namespace heed::recipes
