// How the ranks of a distributed run draw their batches (train/training_rows.h): their shares of
// train.batch_size add up to it and differ by at most one row, each rank shuffles with a seed of
// its own, and one process keeps the whole batch and the run's seed (what keeps `-np 1` a plain
// run).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "config/config_loader.h"
#include "train/training_rows.h"

namespace heed {
namespace {

Config with_batch(int batch) {
  Config config = parse_config(R"(
[features.user]
[train]
seed = 11
)", "test config");
  config.train.batch_size = batch;
  return config;
}

TEST(BatchDraw, TheRanksSharesAddUpToTheBatch) {
  for (int ranks : {2, 3, 7}) {
    for (int batch : {7, 8, 1024, 1025}) {
      const Config config = with_batch(batch);
      std::size_t total = 0, smallest = static_cast<std::size_t>(batch), largest = 0;
      std::set<std::uint64_t> seeds;
      for (int r = 0; r < ranks; ++r) {
        const BatchDraw draw = batch_draw(config, ReadShare{r, ranks});
        total += draw.batch_size;
        smallest = std::min(smallest, draw.batch_size);
        largest = std::max(largest, draw.batch_size);
        seeds.insert(draw.seed);
      }
      EXPECT_EQ(total, static_cast<std::size_t>(batch)) << batch << " rows over " << ranks << " ranks";
      EXPECT_LE(largest - smallest, 1u) << batch << " rows over " << ranks << " ranks";
      EXPECT_EQ(seeds.size(), static_cast<std::size_t>(ranks));
      EXPECT_FALSE(seeds.contains(config.train.seed));
    }
  }
}

TEST(BatchDraw, OneProcessDrawsTheWholeBatchWithTheRunsSeed) {
  const Config config = with_batch(513);
  const BatchDraw draw = batch_draw(config);
  EXPECT_EQ(draw.batch_size, 513u);
  EXPECT_EQ(draw.seed, 11u);
}

}  // namespace
}  // namespace heed
