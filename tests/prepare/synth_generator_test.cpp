#include "prepare/synth/synth_generator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "prepare/synth/click_model.h"
#include "prepare/synth/synth_columns.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {
namespace {

namespace fs = std::filesystem;

// Column positions, in kColumns order.
enum Col {
  kLabel,
  kUser,
  kGroup,
  kAge,
  kGender,
  kCity,
  kItem,
  kCategory,
  kTags,
  kHistItems,
  kHistCategories,
  kHour,
  kNoiseA,
  kNoiseB,
  kNoiseC,
  kColumnCount
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// A multi-valued cell: the empty string is an empty list.
std::vector<std::string> values(const std::string& cell) {
  return cell.empty() ? std::vector<std::string>{} : split(cell, '|');
}

std::uint32_t id_of(const std::string& token) {  // "u123" -> 123
  return static_cast<std::uint32_t>(std::stoul(token.substr(1)));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Table {
  std::string header;
  std::vector<std::vector<std::string>> rows;
};

Table read_tsv(const fs::path& path) {
  std::ifstream in(path);
  Table table;
  std::getline(in, table.header);
  for (std::string line; std::getline(in, line);) table.rows.push_back(split(line, '\t'));
  return table;
}

fs::path unique_dir(const std::string& tag) {
  // ctest runs each test in its own process, possibly in parallel: the pid keeps them apart.
  const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  return fs::temp_directory_path() / fmt::format("heed_synth_{}_{}_{}", tag, ::getpid(), ticks);
}

// Rank AUC with ties counted half.
double auc(std::vector<std::pair<double, int>> scored) {
  std::sort(scored.begin(), scored.end());
  double positives = 0, negatives = 0, pairs = 0;
  for (std::size_t i = 0; i < scored.size();) {
    std::size_t j = i;
    double pos = 0, neg = 0;
    for (; j < scored.size() && scored[j].first == scored[i].first; ++j)
      (scored[j].second ? pos : neg) += 1;
    pairs += pos * (negatives + neg / 2);
    positives += pos;
    negatives += neg;
    i = j;
  }
  return pairs / (positives * negatives);
}

// Pearson chi-square of a field's per-value click counts against the overall click rate.
// Under independence it is about (values - 1) with standard deviation sqrt(2 (values - 1)).
double chi_square(const std::vector<std::vector<std::string>>& rows, int column) {
  std::map<std::string, std::pair<double, double>> counts;  // value -> (rows, clicks)
  double clicks = 0;
  for (const auto& r : rows) {
    auto& c = counts[r[column]];
    c.first += 1;
    c.second += r[kLabel] == "1";
    clicks += r[kLabel] == "1";
  }
  const double rate = clicks / static_cast<double>(rows.size());
  double stat = 0;
  for (const auto& [value, c] : counts) {
    const double expected = c.first * rate;
    stat += (c.second - expected) * (c.second - expected) / (expected * (1 - rate));
  }
  return stat;
}

class SynthGenerator : public ::testing::Test {
 protected:
  static constexpr std::size_t kRows = 20000;
  static constexpr std::uint64_t kSeed = 3;
  static constexpr std::size_t kMaxHistory = 50;

  static void SetUpTestSuite() {
    dir_ = new fs::path(unique_dir("suite"));
    summary_ = generate({.out = *dir_, .rows = kRows, .seed = kSeed, .max_history = kMaxHistory});
    for (const char* name : {"train", "valid", "test"})
      splits_[name] = read_tsv(*dir_ / (std::string(name) + ".tsv"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    splits_.clear();
  }
  // All rows in time order: the splits are consecutive time ranges.
  static std::vector<std::vector<std::string>> all_rows() {
    std::vector<std::vector<std::string>> rows;
    for (const char* name : {"train", "valid", "test"})
      rows.insert(rows.end(), splits_[name].rows.begin(), splits_[name].rows.end());
    return rows;
  }

  static inline fs::path* dir_ = nullptr;
  static inline Summary summary_{};
  static inline std::map<std::string, Table> splits_;
};

TEST_F(SynthGenerator, HeaderAndEveryLineHaveAllColumns) {
  std::vector<std::string> names;
  for (const ColumnInfo& c : kColumns) names.emplace_back(c.name);
  const std::string expected_header = fmt::format("{}", fmt::join(names, "\t"));
  for (const auto& [name, table] : splits_) {
    EXPECT_EQ(table.header, expected_header) << name;
    for (const auto& r : table.rows) {
      ASSERT_EQ(r.size(), static_cast<std::size_t>(kColumnCount)) << name;
      ASSERT_TRUE(r[kLabel] == "0" || r[kLabel] == "1");
      ASSERT_TRUE(r[kGroup] == "new" || r[kGroup] == "active");
      ASSERT_TRUE(r[kGender] == "m" || r[kGender] == "f");
      ASSERT_EQ(r[kUser][0], 'u');
      ASSERT_EQ(r[kItem][0], 'i');
      ASSERT_EQ(r[kCategory][0], 'c');
      const auto tags = values(r[kTags]);
      ASSERT_TRUE(tags.size() >= 1 && tags.size() <= 4) << r[kTags];
      const int hour = std::stoi(r[kHour]);
      ASSERT_TRUE(hour >= 0 && hour < 24);
      ASSERT_LT(std::stoul(r[kNoiseA]), 10u);
      ASSERT_LT(std::stoul(r[kNoiseB]), 100u);
      ASSERT_LT(std::stoul(r[kNoiseC]), 1000u);
    }
  }
}

TEST_F(SynthGenerator, RowCountsAddUpAndSplitIsEightyTenTen) {
  EXPECT_EQ(summary_.train_rows + summary_.valid_rows + summary_.test_rows, kRows);
  EXPECT_EQ(splits_["train"].rows.size(), summary_.train_rows);
  EXPECT_EQ(splits_["valid"].rows.size(), summary_.valid_rows);
  EXPECT_EQ(splits_["test"].rows.size(), summary_.test_rows);
  EXPECT_EQ(summary_.train_rows, kRows * 8 / 10);
  EXPECT_EQ(summary_.valid_rows, kRows / 10);
  EXPECT_GT(summary_.click_rate, 0.2);
  EXPECT_LT(summary_.click_rate, 0.35);
}

TEST(SynthGeneratorRuns, SameSeedSameBytesOtherSeedOtherBytes) {
  const fs::path a = unique_dir("a"), b = unique_dir("b"), c = unique_dir("c");
  generate({.out = a, .rows = 5000, .seed = 11});
  generate({.out = b, .rows = 5000, .seed = 11});
  generate({.out = c, .rows = 5000, .seed = 12});
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv", "synth.json"}) {
    const std::string bytes = read_file(a / file);
    EXPECT_FALSE(bytes.empty()) << file;
    EXPECT_EQ(bytes, read_file(b / file)) << file;
  }
  EXPECT_NE(read_file(a / "train.tsv"), read_file(c / "train.tsv"));
  for (const auto& dir : {a, b, c}) fs::remove_all(dir);
}

TEST(SynthGeneratorRuns, LabelsDoNotDependOnMaxHistory) {
  // max_history only cuts what is written; the process reads its own fixed window.
  const fs::path a = unique_dir("long"), b = unique_dir("short");
  generate({.out = a, .rows = 3000, .seed = 5, .max_history = 50});
  generate({.out = b, .rows = 3000, .seed = 5, .max_history = 4});
  const Table long_history = read_tsv(a / "train.tsv"), short_history = read_tsv(b / "train.tsv");
  ASSERT_EQ(long_history.rows.size(), short_history.rows.size());
  for (std::size_t i = 0; i < long_history.rows.size(); ++i) {
    const auto& l = long_history.rows[i];
    const auto& s = short_history.rows[i];
    ASSERT_EQ(l[kLabel], s[kLabel]);
    ASSERT_EQ(l[kItem], s[kItem]);
    const auto lh = values(l[kHistItems]), sh = values(s[kHistItems]);
    ASSERT_LE(sh.size(), 4u);
    ASSERT_TRUE(std::equal(sh.rbegin(), sh.rend(), lh.rbegin()));  // the same latest clicks
  }
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(SynthGeneratorRuns, RejectsBadOptions) {
  EXPECT_THROW(generate({.out = unique_dir("zero"), .rows = 0}), heed::Error);
  EXPECT_THROW(generate({.out = "", .rows = 10}), heed::Error);
}

TEST_F(SynthGenerator, HistoriesAreAlignedBoundedAndConsistentWithItems) {
  std::map<std::string, std::string> category_of;  // item -> category, from candidate columns
  const auto rows = all_rows();
  for (const auto& r : rows) {
    auto [it, inserted] = category_of.emplace(r[kItem], r[kCategory]);
    ASSERT_EQ(it->second, r[kCategory]) << "item " << r[kItem] << " has two categories";
  }
  std::size_t checked = 0;
  for (const auto& r : rows) {
    const auto items = values(r[kHistItems]), categories = values(r[kHistCategories]);
    ASSERT_EQ(items.size(), categories.size());
    ASSERT_LE(items.size(), kMaxHistory);
    for (std::size_t k = 0; k < items.size(); ++k) {
      const auto it = category_of.find(items[k]);
      if (it == category_of.end()) continue;  // a click from before the logged window
      ASSERT_EQ(it->second, categories[k]) << items[k];
      ++checked;
    }
  }
  EXPECT_GT(checked, kRows);  // most history items were also candidates somewhere
}

TEST_F(SynthGenerator, HistoriesGrowOnlyByTheUsersOwnEarlierClicks) {
  struct Previous {
    std::vector<std::string> history;
    std::string item;
    bool clicked;
  };
  std::map<std::string, Previous> previous;  // user -> their latest row so far
  std::size_t followups = 0;
  for (const auto& r : all_rows()) {
    const auto history = values(r[kHistItems]);
    const auto it = previous.find(r[kUser]);
    if (it == previous.end()) {
      // A new user has no clicks before the logged window.
      if (r[kGroup] == "new") {
        ASSERT_TRUE(history.empty()) << r[kUser];
      }
    } else {
      std::vector<std::string> expected = it->second.history;
      if (it->second.clicked) expected.push_back(it->second.item);
      if (expected.size() > kMaxHistory) expected.erase(expected.begin());
      ASSERT_EQ(history, expected) << r[kUser];
      ++followups;
    }
    previous[r[kUser]] = {history, r[kItem], r[kLabel] == "1"};
  }
  EXPECT_GT(followups, kRows / 2);
}

TEST_F(SynthGenerator, NoiseFieldsAreIndependentOfTheLabelAndRelevantFieldsAreNot) {
  const auto rows = all_rows();
  // Generous bounds: about 6 standard deviations above the mean under independence.
  EXPECT_LT(chi_square(rows, kNoiseA), 9 + 6 * std::sqrt(18.0));
  EXPECT_LT(chi_square(rows, kNoiseB), 99 + 6 * std::sqrt(198.0));
  EXPECT_LT(chi_square(rows, kNoiseC), 999 + 6 * std::sqrt(1998.0));
  // Fields the process reads show far more structure than noise of similar cardinality
  // (seed 3 gives about 400 for item_category and 1150 for item_id).
  EXPECT_GT(chi_square(rows, kCategory), 35 + 20 * std::sqrt(70.0));
  EXPECT_GT(chi_square(rows, kItem), 499 + 10 * std::sqrt(998.0));
}

TEST_F(SynthGenerator, NewAndActiveUsersDiffer) {
  std::size_t rows_of[2] = {0, 0}, history_of[2] = {0, 0};
  // Click rates by whether the history holds >= 2 clicks in the candidate's category.
  double active_match[2] = {0, 0}, active_match_clicks[2] = {0, 0};
  double new_evening[2] = {0, 0}, new_morning[2] = {0, 0};  // (rows, clicks)
  for (const auto& [name, table] : splits_) {
    std::set<std::string> groups;
    for (const auto& r : table.rows) groups.insert(r[kGroup]);
    EXPECT_EQ(groups.size(), 2u) << name << " lacks a user group";
  }
  for (const auto& r : all_rows()) {
    const bool is_new = r[kGroup] == "new";
    const auto categories = values(r[kHistCategories]);
    ++rows_of[is_new];
    history_of[is_new] += categories.size();
    const bool clicked = r[kLabel] == "1";
    if (!is_new) {
      const auto matches = std::count(categories.begin(), categories.end(), r[kCategory]);
      if (matches == 0 || matches >= 2) {
        active_match[matches >= 2] += 1;
        active_match_clicks[matches >= 2] += clicked;
      }
    } else {
      const int hour = std::stoi(r[kHour]);
      if (hour >= 19 && hour <= 23) new_evening[0] += 1, new_evening[1] += clicked;
      if (hour >= 6 && hour <= 11) new_morning[0] += 1, new_morning[1] += clicked;
    }
  }
  const double new_share = static_cast<double>(rows_of[1]) / kRows;
  EXPECT_GT(new_share, 0.1);
  EXPECT_LT(new_share, 0.35);
  EXPECT_LT(static_cast<double>(history_of[1]) / rows_of[1], 6.0);   // new: short histories
  EXPECT_GT(static_cast<double>(history_of[0]) / rows_of[0], 25.0);  // active: tens of clicks
  // Active users click far more when their history matches the candidate.
  EXPECT_GT(active_match_clicks[1] / active_match[1],
            active_match_clicks[0] / active_match[0] + 0.2);
  // New users click more in the evening.
  EXPECT_GT(new_evening[1] / new_evening[0], new_morning[1] / new_morning[0] + 0.05);
}

TEST_F(SynthGenerator, WrittenRowsReproduceThePlantedProbability) {
  // Rebuilding the world from the seed and reading features only from the files must give back
  // the probabilities the labels were drawn from: calibrated, and separating labels well.
  const World world = build_world(kSeed, kRows);
  const ClickParams params;
  double sum_p = 0, sum_y = 0;
  std::vector<std::pair<double, int>> test_scores, test_group_scores[2];  // [0] active, [1] new
  for (const auto& [name, table] : splits_) {
    for (const auto& r : table.rows) {
      std::vector<std::uint32_t> history;
      for (const auto& token : values(r[kHistItems])) history.push_back(id_of(token));
      const std::uint32_t user = id_of(r[kUser]), item = id_of(r[kItem]);
      ASSERT_EQ(group_name(world.users[user].group), r[kGroup]);
      ASSERT_EQ(fmt::format("c{}", world.items[item].category), r[kCategory]);
      const double p = click_probability(world, user, item, std::stoi(r[kHour]), history, params);
      const int y = r[kLabel] == "1";
      sum_p += p;
      sum_y += y;
      if (name == "test") {
        test_scores.emplace_back(p, y);
        test_group_scores[r[kGroup] == "new"].emplace_back(p, y);
      }
    }
  }
  EXPECT_NEAR(sum_p / kRows, sum_y / kRows, 0.015);
  const double test_auc = auc(test_scores);
  RecordProperty("planted_test_auc", std::to_string(test_auc));
  EXPECT_GT(test_auc, 0.75);
  EXPECT_LT(test_auc, 0.9);
  // synth.json states the same ceiling, per group too (it ranks float-rounded probabilities).
  const auto planted = nlohmann::json::parse(read_file(*dir_ / "synth.json"))["planted_auc"]["test"];
  EXPECT_NEAR(planted["all"].get<double>(), test_auc, 1e-5);
  EXPECT_NEAR(planted["active"].get<double>(), auc(test_group_scores[0]), 1e-5);
  EXPECT_NEAR(planted["new"].get<double>(), auc(test_group_scores[1]), 1e-5);
}

TEST_F(SynthGenerator, ManifestNamesEveryColumnWithARole) {
  const auto j = nlohmann::json::parse(read_file(*dir_ / "synth.json"));
  EXPECT_EQ(j["parameters"]["rows"], kRows);
  EXPECT_EQ(j["parameters"]["seed"], kSeed);
  EXPECT_EQ(j["parameters"]["max_history"], kMaxHistory);
  EXPECT_EQ(j["split"]["train_rows"], summary_.train_rows);
  EXPECT_EQ(j["split"]["test_rows"], summary_.test_rows);
  EXPECT_NEAR(j["click_rate"]["all"].get<double>(), summary_.click_rate, 1e-12);
  EXPECT_FALSE(j["description"].get<std::string>().empty());
  const std::set<std::string> roles = {"label",           "id",      "pc",   "relevant",
                                       "new_user_signal", "history", "noise"};
  const auto header = split(splits_["train"].header, '\t');
  ASSERT_EQ(j["columns"].size(), header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    EXPECT_EQ(j["columns"][c]["name"], header[c]);
    EXPECT_TRUE(roles.count(j["columns"][c]["role"].get<std::string>())) << header[c];
  }
  EXPECT_EQ(j["columns"][kGroup]["role"], "pc");
  EXPECT_EQ(j["columns"][kNoiseC]["role"], "noise");
}

}  // namespace
}  // namespace heed::synth
