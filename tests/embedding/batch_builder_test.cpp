// The batch builder: keys resolved to rows, distinct touched rows per table with consistent
// slots, shared tables, eval mode that never inserts, learned default rows, dense inputs.
#include "embedding/batch_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <numeric>
#include <set>
#include <string_view>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "data/dataset_loader.h"

namespace heed {
namespace {

using testing::TempDir;

const char* const kConfig =
    "[features.item]\n"
    "[features.genres]\nkind = \"multi\"\n"
    "[features.history]\nkind = \"sequence\"\ntable = \"item\"\n"
    "[features.price]\nkind = \"numeric\"\n";

const char* const kRows =
    "label\titem\tgenres\thistory\tprice\n"
    "1\ta\tx|y\tb|c|a\t1\n"
    "0\tb\ty\t\t2\n"
    "1\tc\tx|x|z\ta|a\t\n"
    "0\ta\t\tb\t4\n"
    "1\td\tw\tc\t5\n";

struct Fixture {
  TempDir dir{"batch"};
  Config config;
  Schema schema;
  Dataset data;
  std::vector<EmbeddingTable> tables;
  NumericNormalizer normalizer;

  explicit Fixture(const std::vector<std::string>& overrides = {}) {
    testing::write_file(dir / "rows.tsv", kRows);
    config = parse_config(kConfig, "t.toml", overrides);
    schema = Schema::from_config(config);
    data = load_dataset(dir / "rows.tsv", config, schema);
    for (const TableInfo& t : schema.tables) tables.emplace_back(t.name, 4, 0, 0.1f, 1);
    normalizer = NumericNormalizer(schema);
  }
  std::size_t table_rows() const {
    std::size_t n = 0;
    for (const auto& t : tables) n += t.rows();
    return n;
  }
};

std::vector<std::size_t> all_rows(const Dataset& data) {
  std::vector<std::size_t> rows(data.rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  return rows;
}

// Every value's row is its key's row, every slot points at that row among the touched rows,
// and the touched rows are distinct.
void expect_consistent(const Fixture& f, const std::vector<std::size_t>& rows, const Batch& batch) {
  ASSERT_EQ(batch.size, rows.size());
  ASSERT_EQ(batch.tables.size(), f.tables.size());
  for (std::size_t t = 0; t < batch.tables.size(); ++t) {
    const auto& touched = batch.tables[t].touched;
    EXPECT_EQ(std::set<std::uint32_t>(touched.begin(), touched.end()).size(), touched.size())
        << "table " << t;
  }
  std::vector<std::set<std::uint32_t>> used(f.tables.size());
  for (std::size_t fi = 0; fi < f.schema.features.size(); ++fi) {
    const FeatureInfo& info = f.schema.features[fi];
    const FeatureBatch& fb = batch.features[fi];
    if (info.is_dense()) {
      EXPECT_TRUE(fb.rows.empty());
      continue;
    }
    const auto t = static_cast<std::size_t>(info.table);
    const KeyColumn& column = f.data.keys[fi];
    ASSERT_EQ(fb.offsets.size(), rows.size() + 1);
    ASSERT_EQ(fb.slots.size(), fb.rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      ASSERT_EQ(fb.offsets[i + 1] - fb.offsets[i], column.count(rows[i]));
      for (std::uint32_t v = fb.offsets[i]; v < fb.offsets[i + 1]; ++v) {
        const std::uint64_t key = column.keys[column.offsets[rows[i]] + (v - fb.offsets[i])];
        EXPECT_EQ(fb.rows[v], f.tables[t].find(key));
        ASSERT_LT(fb.slots[v], batch.tables[t].touched.size());
        EXPECT_EQ(batch.tables[t].touched[fb.slots[v]], static_cast<std::uint32_t>(fb.rows[v]));
        used[t].insert(static_cast<std::uint32_t>(fb.rows[v]));
      }
    }
  }
  for (std::size_t t = 0; t < f.tables.size(); ++t) {
    const auto& touched = batch.tables[t].touched;
    EXPECT_EQ(std::set<std::uint32_t>(touched.begin(), touched.end()), used[t])
        << "touched = rows read, table " << t;
  }
}

TEST(BatchBuilder, TrainingInsertsKeysAndListsTouchedRowsOnce) {
  Fixture f;
  BatchBuilder builder(f.schema, f.config.embedding);
  Batch batch;
  Rng rng(1);
  const auto rows = all_rows(f.data);
  builder.build(f.data, rows, true, &rng, f.tables, f.normalizer, batch);
  expect_consistent(f, rows, batch);
  // item and history share the "item" table: a, b, c, d -> 4 rows + the default row.
  ASSERT_EQ(f.schema.tables.size(), 2u);
  EXPECT_EQ(f.tables[0].rows(), 5u);
  EXPECT_EQ(batch.tables[0].touched.size(), 4u);
  EXPECT_EQ(f.tables[1].rows(), 5u);  // x, y, z, w
  EXPECT_EQ(batch.labels, (std::vector<float>{1, 0, 1, 0, 1}));
  // Row 2's genres x|x|z: the repeated value reads the same row twice with the same slot.
  const FeatureBatch& genres = batch.features[1];
  const std::uint32_t first = genres.offsets[2];
  EXPECT_EQ(genres.rows[first], genres.rows[first + 1]);
  EXPECT_EQ(genres.slots[first], genres.slots[first + 1]);
}

TEST(BatchBuilder, SlotsRestartForEachBatch) {
  Fixture f;
  BatchBuilder builder(f.schema, f.config.embedding);
  Batch batch;
  Rng rng(1);
  const std::vector<std::size_t> first = {0, 1}, second = {4, 2, 2};
  builder.build(f.data, first, true, &rng, f.tables, f.normalizer, batch);
  expect_consistent(f, first, batch);
  builder.build(f.data, second, true, &rng, f.tables, f.normalizer, batch);
  expect_consistent(f, second, batch);
  // Batch {d, c, c}: items d, c then history c, a, a, so the item table touched d, c, a.
  EXPECT_EQ(batch.tables[0].touched.size(), 3u);
  EXPECT_EQ(batch.features[0].slots, (std::vector<std::uint32_t>{0, 1, 1}));
}

TEST(BatchBuilder, EvalModeNeverInserts) {
  Fixture f;
  BatchBuilder builder(f.schema, f.config.embedding);
  Batch batch;
  Rng rng(1);
  builder.build(f.data, std::vector<std::size_t>{0}, true, &rng, f.tables, f.normalizer,
                batch);  // a, b, c, x, y
  const std::size_t before = f.table_rows();
  const auto rows = all_rows(f.data);
  builder.build(f.data, rows, false, nullptr, f.tables, f.normalizer, batch);
  EXPECT_EQ(f.table_rows(), before);
  // Row 4 (item d, genre w, history c): d and w are unseen.
  const FeatureBatch& item = batch.features[0];
  EXPECT_EQ(item.rows[4], EmbeddingTable::kUnseen);
  EXPECT_EQ(item.rows[0], f.tables[0].find(f.data.keys[0].keys[0]));
  EXPECT_GE(item.rows[0], 1);
  EXPECT_EQ(batch.features[1].rows.back(), EmbeddingTable::kUnseen);
  EXPECT_GE(batch.features[2].rows.back(), 1);
  EXPECT_TRUE(item.slots.empty());
  for (const auto& t : batch.tables) EXPECT_TRUE(t.touched.empty());
}

TEST(BatchBuilder, LearnedDefaultRow) {
  Fixture f({"embedding.unseen=default", "embedding.default_rate=0.5"});
  BatchBuilder builder(f.schema, f.config.embedding);
  Batch batch;
  Rng rng(3);
  const auto rows = all_rows(f.data);
  // Training: about half of the lookups go to the default row 0, which is then touched.
  std::size_t routed = 0, total = 0;
  for (int repeat = 0; repeat < 20; ++repeat) {
    builder.build(f.data, rows, true, &rng, f.tables, f.normalizer, batch);
    for (std::size_t fi = 0; fi < 3; ++fi)
      for (std::size_t v = 0; v < batch.features[fi].rows.size(); ++v) {
        const FeatureBatch& fb = batch.features[fi];
        const auto t = static_cast<std::size_t>(f.schema.features[fi].table);
        EXPECT_EQ(batch.tables[t].touched[fb.slots[v]], static_cast<std::uint32_t>(fb.rows[v]));
        routed += fb.rows[v] == 0;
        ++total;
      }
  }
  EXPECT_GT(routed, total / 4);
  EXPECT_LT(routed, total * 3 / 4);
  // Every key got its own row even when the lookup was routed to the default.
  EXPECT_EQ(f.tables[0].rows(), 5u);
  // Eval: unseen keys read the default row, seen keys their own.
  const std::vector<std::uint64_t> unseen_key = {12345};
  Dataset one = f.data.select({0});
  one.keys[0].keys.assign(unseen_key.begin(), unseen_key.end());
  builder.build(one, std::vector<std::size_t>{0}, false, nullptr, f.tables, f.normalizer, batch);
  EXPECT_EQ(batch.features[0].rows, (std::vector<std::int32_t>{0}));
  EXPECT_GE(batch.features[1].rows[0], 1);
}

// Training splits the lookups over threads; new keys still get rows in the order of features,
// rows and values, so the batch, the tables and the learned default's draws are the same for
// any number of threads (here batches of 1 to 5 rows, each in every order).
TEST(BatchBuilder, ThreadsShareTheLookupsWithoutChangingTheBatchOrTheTables) {
  for (const char* unseen : {"embedding.unseen=zero", "embedding.unseen=default"}) {
    const bool learned_default = std::string_view(unseen).ends_with("default");
    Fixture one({unseen, "embedding.default_rate=0.3"}), three({unseen, "embedding.default_rate=0.3"});
    BatchBuilder builder_one(one.schema, one.config.embedding), builder_three(three.schema, three.config.embedding);
    Rng rng_one(7), rng_three(7);
    Batch batch_one, batch_three;
    std::vector<std::size_t> rows = {3, 0, 4, 2, 1};
    for (std::size_t size = 1; size <= rows.size(); ++size) {
      const auto end = rows.begin() + static_cast<std::ptrdiff_t>(size);
      std::sort(rows.begin(), end);
      do {
        const std::vector<std::size_t> batch_rows(rows.begin(), end);
        builder_one.build(one.data, batch_rows, true, &rng_one, one.tables, one.normalizer, batch_one, 1);
        builder_three.build(three.data, batch_rows, true, &rng_three, three.tables, three.normalizer, batch_three, 3);
        ASSERT_EQ(batch_one.features.size(), batch_three.features.size());
        for (std::size_t fi = 0; fi < batch_one.features.size(); ++fi) {
          EXPECT_EQ(batch_one.features[fi].offsets, batch_three.features[fi].offsets) << unseen << ", feature " << fi;
          EXPECT_EQ(batch_one.features[fi].rows, batch_three.features[fi].rows) << unseen << ", feature " << fi;
          EXPECT_EQ(batch_one.features[fi].slots, batch_three.features[fi].slots) << unseen << ", feature " << fi;
        }
        for (std::size_t t = 0; t < batch_one.tables.size(); ++t) {
          EXPECT_EQ(batch_one.tables[t].touched, batch_three.tables[t].touched) << unseen << ", table " << t;
          EXPECT_EQ(one.tables[t].row_keys(), three.tables[t].row_keys()) << unseen << ", table " << t;
        }
        // (The learned default routes some lookups of seen keys to row 0.)
        if (!learned_default) expect_consistent(three, batch_rows, batch_three);
      } while (std::next_permutation(rows.begin(), end));
    }
    // Scoring on threads reads what one thread reads.
    builder_one.build(one.data, all_rows(one.data), false, nullptr, one.tables, one.normalizer, batch_one, 1);
    builder_three.build(three.data, all_rows(three.data), false, nullptr, three.tables, three.normalizer, batch_three, 3);
    for (std::size_t fi = 0; fi < batch_one.features.size(); ++fi)
      EXPECT_EQ(batch_one.features[fi].rows, batch_three.features[fi].rows) << unseen << ", feature " << fi;
    // A rank's empty share of a distributed step: no rows, from a dataset without columns.
    builder_three.build(Dataset{}, std::vector<std::size_t>{}, true, &rng_three, three.tables, three.normalizer,
                        batch_three, 3);
    EXPECT_EQ(batch_three.size, 0u);
    for (const FeatureBatch& fb : batch_three.features) EXPECT_TRUE(fb.rows.empty());
  }
}

TEST(BatchBuilder, DenseInputsAreNormalized) {
  Fixture f({"features.price.transform=standardize"});
  f.normalizer = NumericNormalizer(f.schema);
  f.normalizer.fit(f.data);  // prices 1, 2, 4, 5 (and one missing): mean 3, std sqrt(2.5)
  BatchBuilder builder(f.schema, f.config.embedding);
  Batch batch;
  const auto rows = all_rows(f.data);
  builder.build(f.data, rows, false, nullptr, f.tables, f.normalizer, batch);
  ASSERT_EQ(batch.dense.rows(), 5);
  ASSERT_EQ(batch.dense.cols(), 1);
  const float s = std::sqrt(2.5f);
  EXPECT_NEAR(batch.dense(0, 0), (1 - 3) / s, 1e-6);
  EXPECT_NEAR(batch.dense(1, 0), (2 - 3) / s, 1e-6);
  EXPECT_EQ(batch.dense(2, 0), 0.0f) << "missing -> the training mean";
  EXPECT_NEAR(batch.dense(4, 0), (5 - 3) / s, 1e-6);
}

}  // namespace
}  // namespace heed
