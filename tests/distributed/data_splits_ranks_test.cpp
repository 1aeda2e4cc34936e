// The splits of a distributed run (train/data_splits.h with peers), with ranks as threads of the
// test: each rank reads its part of the training files, and rank 0's validation rows are, row
// for row, those one process carves (by hash in memory or streamed, or by time); the ranks'
// training rows together are one process's; rank 0 alone holds the test rows. The dense
// statistics merged from the parts give one process's transform.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "embedding/numeric_normalizer.h"
#include "thread_world.h"
#include "train/data_splits.h"

namespace heed {
namespace {

using testing::TempDir;
using testing::write_file;

std::string rows_text(int n, int salt) {
  std::string text = "label\tuser\titem\tts\tprice\n";
  for (int i = 0; i < n; ++i)
    text += fmt::format("{}\tu{}\ti{}\t{}\t{}\n", (i + salt) % 2, (i * 3 + salt) % 41, i % 13, 1000 + (i * 7 + salt) % 331,
                        (i * 17 + salt) % 100 * 0.25);
  return text;
}

std::vector<std::string> sources(const Dataset& d) {
  std::vector<std::string> out;
  for (std::size_t r = 0; r < d.rows; ++r) out.push_back(d.source_of(r));
  return out;
}

struct PerRank {
  std::vector<Splits> splits;
};

PerRank load_on_ranks(const Config& config, int ranks, bool stream, const std::filesystem::path& rejects) {
  PerRank out;
  out.splits.resize(static_cast<std::size_t>(ranks));
  const Schema schema = Schema::from_config(config);
  testing::ThreadWorld world(ranks);
  world.run([&](Communicator& peers) {
    out.splits[static_cast<std::size_t>(peers.rank())] = load_splits(config, schema, rejects, stream, {}, &peers);
  });
  return out;
}

class SplitsOnRanks : public ::testing::TestWithParam<const char*> {};

TEST_P(SplitsOnRanks, RankZeroHoldsOneProcesssValidationRows) {
  TempDir dir("splits_ranks");
  write_file(dir / "part-a.tsv", rows_text(700, 1));
  write_file(dir / "part-b.tsv", rows_text(450, 2));
  write_file(dir / "test.tsv", rows_text(60, 3));
  const std::string carve = GetParam();
  const bool stream = carve == "stream";
  const Config config = parse_config(
      "[data]\ntrain = \"part-*.tsv\"\ntest = \"test.tsv\"\nvalid_fraction = 0.2\n" +
          std::string(carve == "time" ? "valid_by_time = \"ts\"\n" : "valid_by = \"user\"\n") +
          "[features.user]\n[features.item]\n",
      "t.toml", {"data.dir=" + dir.path().string()});
  const Splits one = load_splits(config, Schema::from_config(config), dir.path(), stream);
  ASSERT_GT(one.valid.rows, 100u);
  for (int ranks : {2, 3, 4}) {
    SCOPED_TRACE(fmt::format("{} ranks, {} carve", ranks, carve));
    const PerRank per = load_on_ranks(config, ranks, stream, dir.path());
    const Splits& first = per.splits[0];
    EXPECT_EQ(sources(first.valid), sources(one.valid));
    EXPECT_EQ(first.valid.labels, one.valid.labels);
    EXPECT_EQ(first.valid.keys[0].keys, one.valid.keys[0].keys);
    EXPECT_EQ(first.test.rows, 60u);
    EXPECT_TRUE(first.has_test);
    std::size_t trained = 0;
    for (std::size_t r = 1; r < per.splits.size(); ++r) {
      EXPECT_EQ(per.splits[r].valid.rows, 0u);
      EXPECT_EQ(per.splits[r].test.rows, 0u);
    }
    if (stream) continue;  // the streamed training rows stay in their files
    std::vector<std::string> all;
    for (const Splits& s : per.splits) {
      EXPECT_GT(s.train.rows, 0u);
      trained += s.train.rows;
      const std::vector<std::string> mine = sources(s.train);
      all.insert(all.end(), mine.begin(), mine.end());
    }
    EXPECT_EQ(trained, one.train.rows);
    EXPECT_EQ(all, sources(one.train));  // in rank order: file order
  }
}

INSTANTIATE_TEST_SUITE_P(Carves, SplitsOnRanks, ::testing::Values("hash", "time", "stream"));

TEST(NormalizerOnRanks, MergedPartsFitAsTheWhole) {
  TempDir dir("splits_ranks");
  write_file(dir / "train.tsv", rows_text(900, 4));
  for (const char* transform : {"standardize", "minmax"}) {
    const Config config = parse_config(fmt::format("[features.item]\n[features.price]\nkind = \"numeric\"\ntransform = \"{}\"\n",
                                                   transform),
                                       "t.toml", {"data.dir=" + dir.path().string(), "data.test=", "data.valid_fraction=0"});
    const Schema schema = Schema::from_config(config);
    NumericNormalizer whole(schema);
    whole.fit(load_splits(config, schema).train);
    std::vector<std::string> parts(3);
    testing::ThreadWorld world(3);
    std::mutex guard;
    world.run([&](Communicator& peers) {
      const Splits mine = load_splits(config, schema, dir.path(), false, {}, &peers);
      NumericNormalizer n(schema);
      n.add_to_fit(mine.train);
      std::lock_guard lock(guard);
      parts[static_cast<std::size_t>(peers.rank())] = n.partial_fit();
    });
    NumericNormalizer merged(schema);
    merged.merge_partial_fits(parts);
    merged.finish_fit();
    for (float v : {0.0f, 3.5f, 24.75f, -2.0f}) EXPECT_NEAR(merged.apply(0, v), whole.apply(0, v), 1e-5) << transform << " " << v;
    EXPECT_NE(whole.apply(0, 24.75f), 24.75f);  // a real transform, not the identity
  }
}

}  // namespace
}  // namespace heed
