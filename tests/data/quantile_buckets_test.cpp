// Quantile buckets: edges against a brute-force count, the reservoir's determinism and bound,
// and the streaming pass that fills a config's edges from its training files.
#include "data/quantile_buckets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

TEST(QuantileEdges, EqualCountsOnDistinctValues) {
  std::vector<double> values;
  for (int i = 0; i < 1000; ++i) values.push_back((i * 7919) % 1000);  // 0..999 shuffled
  const std::vector<double> edges = quantile_edges(values, 4);
  EXPECT_EQ(edges, (std::vector<double>{250, 500, 750}));
  // Brute force: every bucket holds a quarter.
  std::vector<int> counts(4, 0);
  for (double v : values) ++counts[static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin())];
  EXPECT_EQ(counts, (std::vector<int>{250, 250, 250, 250}));
}

TEST(QuantileEdges, RepeatedValuesGiveFewerBuckets) {
  std::vector<double> values(900, 0.0);
  for (int i = 0; i < 100; ++i) values.push_back(i + 1);
  const std::vector<double> edges = quantile_edges(values, 10);
  // 90% zeros: no edge at the minimum, one edge where the non-zero tail starts.
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0], 1.0);
  EXPECT_TRUE(quantile_edges({}, 4).empty());
  EXPECT_TRUE(quantile_edges({5, 5, 5}, 4).empty());
}

TEST(ReservoirSample, BoundedDeterministicAndUniform) {
  ReservoirSample a(1000, 7), b(1000, 7);
  for (int i = 0; i < 100000; ++i) {
    a.add(i);
    b.add(i);
  }
  EXPECT_EQ(a.values().size(), 1000u);
  EXPECT_EQ(a.seen(), 100000u);
  EXPECT_EQ(a.values(), b.values());
  // A uniform sample of 0..99999: its median near 50000 (the sample's sd is about 1600).
  std::vector<double> sorted = a.values();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NEAR(sorted[500], 50000, 6000);
}

TEST(QuantileBuckets, ConfigGetsEdgesFromTrainingFilesAndTheLoaderUsesThem) {
  TempDir dir("quantile");
  std::string text = "label\tprice\tcount\n";
  for (int i = 0; i < 400; ++i) text += fmt::format("{}\t{}\t{}\n", i % 2, i, i % 3 == 0 ? "" : "5");
  write_file(dir / "train.tsv", text);
  const Config config = parse_config(
      "[features.price]\nkind = \"numeric\"\nbucketize = \"quantile\"\nquantiles = 4\n"
      "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n",
      "t.toml");
  const Config fitted = with_quantile_boundaries(config, {dir / "train.tsv"});
  EXPECT_EQ(fitted.features[0].boundaries, (std::vector<double>{100, 200, 300}));
  // The resolved config round-trips with its edges, so a saved model keeps them.
  const Config again = parse_config(to_toml(fitted), "resolved.toml");
  EXPECT_EQ(again.features[0].boundaries, fitted.features[0].boundaries);
  EXPECT_EQ(with_quantile_boundaries(again, {}).features[0].boundaries, fitted.features[0].boundaries);

  const Schema schema = Schema::from_config(fitted);
  const Dataset data = load_dataset(dir / "train.tsv", fitted, schema);
  const auto seed = schema.tables[0].seed;
  EXPECT_EQ(data.keys[0].keys[99], hash_integer(0, seed));
  EXPECT_EQ(data.keys[0].keys[100], hash_integer(1, seed));
  EXPECT_EQ(data.keys[0].keys[399], hash_integer(3, seed));
}

TEST(QuantileBuckets, AColumnWithoutNumbersIsAnError) {
  TempDir dir("quantile");
  write_file(dir / "train.tsv", "label\tprice\n1\t\n0\t\n");
  const Config config =
      parse_config("[features.price]\nkind = \"numeric\"\nbucketize = \"quantile\"\n", "t.toml");
  EXPECT_THAT(HEED_ERROR_MESSAGE(with_quantile_boundaries(config, {dir / "train.tsv"}), Error),
              HasSubstr("holds no numbers"));
}

}  // namespace
}  // namespace heed
