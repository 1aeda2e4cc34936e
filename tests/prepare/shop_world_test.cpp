#include "prepare/synth/shop_world.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/test_files.h"
#include "metrics/auc.h"
#include "prepare/synth/shop_generator.h"

namespace heed::synth {
namespace {

using heed::testing::read_file;
using heed::testing::TempDir;
using recipes::TimelineEvent;

constexpr std::size_t kEvents = 20000;

TEST(ShopWorld, NextEventProbabilitiesSumToOne) {
  const ShopWorld world = build_shop_world(3, kEvents, ShopParams{});
  const auto timelines = simulate_shop(world, 3);
  for (std::uint32_t u : {0u, 7u}) {
    const auto& events = timelines[u].events;
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{2}, events.size() - 1}) {
      const std::span<const TimelineEvent> earlier(events.data(), k);
      double total = 0.0;
      for (std::uint32_t i = 0; i < world.items(); ++i) total += next_event_probability(world, u, earlier, i);
      EXPECT_NEAR(total, 1.0, 1e-9) << "user " << u << " after " << k << " events";
    }
  }
}

// The simulation draws events by the process next_event_probability states: over many events,
// the predicted chance of re-viewing one of the last 5 items, of staying in the previous
// category and of the exact item drawn match what the simulation did.
TEST(ShopWorld, SimulationFollowsThePlantedProbabilities) {
  const ShopWorld world = build_shop_world(5, kEvents, ShopParams{});
  const auto timelines = simulate_shop(world, 5);
  double predicted_recent = 0, seen_recent = 0, predicted_same = 0, seen_same = 0, n = 0;
  for (std::uint32_t u = 0; u < timelines.size(); ++u) {
    const auto& events = timelines[u].events;
    for (std::size_t k = 1; k < events.size(); ++k) {
      const std::span<const TimelineEvent> earlier(events.data(), k);
      std::set<std::uint32_t> recent;
      for (std::size_t j = k - std::min(kRepeatWindow, k); j < k; ++j) recent.insert(earlier[j].item);
      for (std::uint32_t item : recent) predicted_recent += next_event_probability(world, u, earlier, item);
      seen_recent += recent.count(events[k].item);
      const std::uint32_t previous = events[k - 1].category;
      const std::uint32_t first = world.first_item[previous];
      const std::uint32_t end = previous + 1 < world.first_item.size() ? world.first_item[previous + 1]
                                                                       : static_cast<std::uint32_t>(world.items());
      for (std::uint32_t i = first; i < end; ++i) predicted_same += next_event_probability(world, u, earlier, i);
      seen_same += events[k].category == previous;
      n += 1;
    }
  }
  ASSERT_GT(n, 10000);
  // Binomial noise over ~19k events is below 0.004 (one sd); 0.015 never flakes but catches a
  // process that drifted from its formula.
  EXPECT_NEAR(seen_recent / n, predicted_recent / n, 0.015);
  EXPECT_NEAR(seen_same / n, predicted_same / n, 0.015);
  EXPECT_GT(seen_recent / n, 0.2);  // repeats are common
}

std::vector<std::vector<std::string>> rows_of(const std::filesystem::path& file) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(file));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      cells.push_back(line.substr(start, tab - start));
    cells.push_back(line.substr(start));
    rows.push_back(cells);
  }
  return rows;
}

std::vector<std::string> split_bar(const std::string& s) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  std::size_t start = 0;
  for (std::size_t bar; (bar = s.find('|', start)) != std::string::npos; start = bar + 1)
    parts.push_back(s.substr(start, bar - start));
  parts.push_back(s.substr(start));
  return parts;
}

TEST(ShopGenerator, WritesALogShapedLikeARealOneWithAKnownCeiling) {
  TempDir dir("shop");
  ShopOptions options;
  options.out = dir.path();
  options.events = kEvents;
  options.seed = 2;
  const ShopSummary summary = generate_shop(options);
  const auto json = nlohmann::json::parse(read_file(dir / "synth.json"));
  const auto& log = json["log"];
  // Thousands of categories in use, most items seen once or twice, interest concentrated.
  EXPECT_EQ(log["categories"].get<int>(), 3000);
  EXPECT_GT(log["categories_seen"].get<int>(), 800);  // by 400 users
  EXPECT_GT(log["items_seen_once"].get<double>() + log["items_seen_twice"].get<double>(), 0.6);
  EXPECT_EQ(summary.items_seen, log["items_seen"].get<std::size_t>());

  const auto test = rows_of(dir / "test.tsv");
  ASSERT_EQ(test.size(), 2 * summary.users);  // one pair per user
  ASSERT_EQ(summary.test_rows, test.size());
  // Each user's events concentrate on a few categories: in the test histories, the three most
  // frequent categories hold most of the positions.
  double top3 = 0, positions = 0;
  // One-line rules read off the history: share of the history in the candidate's category, and
  // whether the candidate was viewed before. The planted ceiling must beat both.
  std::vector<float> category_share, viewed_before, labels;
  for (const auto& row : test) {
    ASSERT_EQ(row.size(), 6u);
    const auto items = split_bar(row[4]);
    const auto categories = split_bar(row[5]);
    ASSERT_EQ(items.size(), categories.size());
    ASSERT_LE(items.size(), 50u);
    std::map<std::string, int> counts;
    for (const auto& c : categories) ++counts[c];
    std::vector<int> sizes;
    for (const auto& [c, k] : counts) sizes.push_back(k);
    std::sort(sizes.rbegin(), sizes.rend());
    for (std::size_t k = 0; k < std::min<std::size_t>(3, sizes.size()); ++k) top3 += sizes[k];
    positions += static_cast<double>(categories.size());
    category_share.push_back(static_cast<float>(counts[row[3]]) / std::max<float>(1, categories.size()));
    viewed_before.push_back(std::find(items.begin(), items.end(), row[2]) != items.end() ? 1.0f : 0.0f);
    labels.push_back(row[0] == "1" ? 1.0f : 0.0f);
  }
  EXPECT_GT(top3 / positions, 0.6);
  const double ceiling = json["planted_auc"]["test"].get<double>();
  EXPECT_DOUBLE_EQ(ceiling, summary.test_planted_auc);
  EXPECT_LT(ceiling, 1.0);
  EXPECT_GT(ceiling, metrics::auc(category_share, labels));
  EXPECT_GT(ceiling, metrics::auc(viewed_before, labels));
  EXPECT_GT(metrics::auc(category_share, labels), 0.7);  // the history carries the signal
}

TEST(ShopGenerator, SameOptionsSameBytesOtherSeedOtherLog) {
  TempDir a("shop_a"), b("shop_b"), c("shop_c");
  ShopOptions options;
  options.events = 3000;
  options.out = a.path();
  generate_shop(options);
  options.out = b.path();
  generate_shop(options);
  options.out = c.path();
  options.seed = 9;
  generate_shop(options);
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv", "synth.json"}) {
    EXPECT_EQ(read_file(a / file), read_file(b / file)) << file;
  }
  EXPECT_NE(read_file(a / "train.tsv"), read_file(c / "train.tsv"));
}

}  // namespace
}  // namespace heed::synth
