#include "prepare/recipes/next_item_task.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "../support/test_files.h"

namespace heed::recipes {
namespace {

using heed::testing::read_file;
using heed::testing::TempDir;

Timeline timeline_of(std::uint64_t key, std::vector<TimelineEvent> events) {
  return Timeline{key, std::move(events)};
}

TEST(NextItemTask, PoolHoldsEachItemOnceWithItsFirstCategory) {
  const std::vector<Timeline> timelines = {timeline_of(1, {{30, 3}, {10, 1}, {30, 9}}),
                                           timeline_of(2, {{20, 2}, {10, 7}})};
  const auto pool = negative_pool(timelines);
  ASSERT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool[0].item, 10u);
  EXPECT_EQ(pool[0].category, 1u);
  EXPECT_EQ(pool[1].item, 20u);
  EXPECT_EQ(pool[2].item, 30u);
  EXPECT_EQ(pool[2].category, 3u);
}

TEST(NextItemTask, EveryEventAfterTheFirstIsAPairAndTheLastTwoAreTestAndValid) {
  const std::vector<TimelineEvent> pool = {{1, 1}, {2, 2}, {3, 3}};
  const Timeline t = timeline_of(5, {{1, 1}, {2, 2}, {3, 3}, {1, 1}, {2, 2}});
  const auto pairs = next_item_pairs(t, pool, 7);
  ASSERT_EQ(pairs.size(), 4u);
  for (std::size_t k = 0; k < pairs.size(); ++k) EXPECT_EQ(pairs[k].position, k + 1);
  EXPECT_EQ(pairs[0].part, NextItemPart::kTrain);
  EXPECT_EQ(pairs[1].part, NextItemPart::kTrain);
  EXPECT_EQ(pairs[2].part, NextItemPart::kValid);
  EXPECT_EQ(pairs[3].part, NextItemPart::kTest);
  // Two events: one pair, and it is test. One event: nothing to predict.
  const auto two = next_item_pairs(timeline_of(5, {{1, 1}, {2, 2}}), pool, 7);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].part, NextItemPart::kTest);
  EXPECT_TRUE(next_item_pairs(timeline_of(5, {{1, 1}}), pool, 7).empty());
}

TEST(NextItemTask, NegativesAreUniformOverThePoolAndSeededPerUser) {
  std::vector<TimelineEvent> pool;
  for (std::uint32_t i = 0; i < 20; ++i) pool.push_back({i, i % 4});
  Timeline t;
  t.user_key = 11;
  for (std::uint32_t k = 0; k < 40001; ++k) t.events.push_back({k % 20, (k % 20) % 4});
  const auto pairs = next_item_pairs(t, pool, 3);
  std::map<std::uint32_t, int> counts;
  for (const auto& pair : pairs) {
    ++counts[pair.negative.item];
    EXPECT_EQ(pair.negative.category, pair.negative.item % 4);  // drawn with its own category
  }
  ASSERT_EQ(counts.size(), 20u);
  for (const auto& [item, n] : counts) EXPECT_NEAR(n, 2000, 250) << "item " << item;

  // The same seed and user give the same draws; another seed or user others.
  const auto again = next_item_pairs(t, pool, 3);
  Timeline other_user = t;
  other_user.user_key = 12;
  const auto other_seed = next_item_pairs(t, pool, 4);
  const auto other_key = next_item_pairs(other_user, pool, 3);
  int same_seed_equal = 0, other_seed_equal = 0, other_key_equal = 0;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    same_seed_equal += again[k].negative.item == pairs[k].negative.item;
    other_seed_equal += other_seed[k].negative.item == pairs[k].negative.item;
    other_key_equal += other_key[k].negative.item == pairs[k].negative.item;
  }
  EXPECT_EQ(same_seed_equal, static_cast<int>(pairs.size()));
  EXPECT_LT(other_seed_equal, static_cast<int>(pairs.size()) / 10);
  EXPECT_LT(other_key_equal, static_cast<int>(pairs.size()) / 10);
}

TEST(NextItemTask, WriterPutsBothRowsOfAPairInItsPartWithTheSameAlignedHistory) {
  TempDir dir("next_item_writer");
  // (Appending piece by piece: GCC 12 warns falsely about "literal" + std::string at -O3.)
  const auto named = [](char prefix) {
    return [prefix](std::string& out, std::uint64_t id) {
      out += prefix;
      out += std::to_string(id);
    };
  };
  const NextItemNames names{named('u'), named('i'), named('c')};
  const std::vector<TimelineEvent> pool = {{9, 4}};  // every negative is i9 of c4
  const Timeline t = timeline_of(3, {{1, 1}, {2, 1}, {3, 2}, {4, 2}});
  NextItemWriter writer(dir.path(), names, /*max_history=*/2);
  for (const auto& pair : next_item_pairs(t, pool, 1)) writer.write(t, pair);
  const auto stats = writer.finish();
  EXPECT_EQ(stats[0].rows, 2u);
  EXPECT_EQ(stats[0].positives, 1u);
  const std::string header =
      "label\tuser_id\titem_id\tcategory_id\thist_item_ids\thist_category_ids\n";
  EXPECT_EQ(read_file(dir / "train.tsv"), header + "1\tu3\ti2\tc1\ti1\tc1\n0\tu3\ti9\tc4\ti1\tc1\n");
  EXPECT_EQ(read_file(dir / "valid.tsv"),
            header + "1\tu3\ti3\tc2\ti1|i2\tc1|c1\n0\tu3\ti9\tc4\ti1|i2\tc1|c1\n");
  // max_history 2 keeps the two most recent events.
  EXPECT_EQ(read_file(dir / "test.tsv"),
            header + "1\tu3\ti4\tc2\ti2|i3\tc1|c2\n0\tu3\ti9\tc4\ti2|i3\tc1|c2\n");
}

}  // namespace
}  // namespace heed::recipes
