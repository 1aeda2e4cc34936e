// Each recipe's output is read by its example config as shipped: every configured column is
// there, numbers parse, DIN's sequences are aligned. (Training on them is measured by hand and
// reported in docs/datasets.md; here only the contract between recipe and config is checked.)
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "data/dataset_loader.h"
#include "prepare/recipes/avazu.h"
#include "prepare/recipes/criteo.h"
#include "prepare/recipes/frappe.h"
#include "prepare/recipes/movielens.h"
#include "prepare/recipes/taobao.h"

namespace heed::recipes {
namespace {

using heed::testing::TempDir;
using heed::testing::write_file;

const std::filesystem::path kSource = HEED_SOURCE_DIR;
const std::filesystem::path kShared = kSource / "../shared/datasets";

// Loads every file the recipe wrote with examples/<name>/config.toml; returns the rows read.
std::size_t load_with_example(const std::string& name, const PrepareSummary& summary,
                              std::vector<std::string> overrides = {}) {
  overrides.push_back(fmt::format("data.dir={}", std::filesystem::path(summary.files.front()).parent_path().string()));
  const Config config = load_config(kSource / "examples" / name / "config.toml", overrides);
  const Schema schema = Schema::from_config(config);
  std::size_t rows = 0;
  for (const std::string& file : summary.files) {
    if (file.ends_with(".tsv")) rows += load_dataset(file, config, schema).rows;
  }
  return rows;
}

TEST(RecipeExamples, CriteoHead) {
  if (!std::filesystem::exists(kShared / "criteo-head")) GTEST_SKIP() << "../shared/datasets/criteo-head is absent";
  TempDir dir("example_criteo");
  EXPECT_EQ(load_with_example("criteo", prepare_criteo({kShared / "criteo-head", dir / "out", {}, {}})), 8000u);
}

TEST(RecipeExamples, AvazuHead) {
  if (!std::filesystem::exists(kShared / "avazu-head")) GTEST_SKIP() << "../shared/datasets/avazu-head is absent";
  TempDir dir("example_avazu");
  EXPECT_EQ(load_with_example("avazu", prepare_avazu({kShared / "avazu-head", dir / "out", {}, {}})), 8999u);
}

TEST(RecipeExamples, Frappe) {
  if (!std::filesystem::exists(kShared / "frappe")) GTEST_SKIP() << "../shared/datasets/frappe is absent";
  TempDir dir("example_frappe");
  EXPECT_EQ(load_with_example("frappe", prepare_frappe({kShared / "frappe", dir / "out", {}})), 86582u);
}

TEST(RecipeExamples, MovieLens100k) {
  if (!std::filesystem::exists(kShared / "ml-100k")) GTEST_SKIP() << "../shared/datasets/ml-100k is absent";
  TempDir dir("example_ml100k");
  MovieLensOptions options;
  options.source = kShared / "ml-100k" / "original";
  options.out = dir / "out";
  EXPECT_EQ(load_with_example("ml-100k", prepare_movielens_100k(options)), 100000u);
}

TEST(RecipeExamples, MovieLens1mLayout) {
  TempDir dir("example_ml1m");
  std::filesystem::create_directories(dir / "ml-1m");
  write_file(dir / "ml-1m" / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
  write_file(dir / "ml-1m" / "movies.dat", "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Heat (1995)::Action\n");
  write_file(dir / "ml-1m" / "ratings.dat", "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n2::2::5::978300275\n");
  MovieLensOptions options;
  options.source = dir / "ml-1m";
  options.out = dir / "out";
  options.split = "time";
  EXPECT_EQ(load_with_example("ml-1m", prepare_movielens_1m(options)), 4u);
}

TEST(RecipeExamples, TaobaoLayout) {
  TempDir dir("example_taobao");
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += fmt::format("{},{},{},{},{}\n", i % 3, 100 + i % 7, i % 4, i % 5 == 0 ? "cart" : "pv",
                        1511539200 + i * 20000);
  }
  write_file(dir / "UserBehavior.csv", text);
  TaobaoOptions options;
  options.source = dir / "UserBehavior.csv";
  options.out = dir / "out";
  const PrepareSummary summary = prepare_taobao(options);
  EXPECT_GT(summary.train_rows, 0u);
  EXPECT_GT(summary.test_rows, 0u);
  EXPECT_EQ(load_with_example("taobao", summary), summary.train_rows + summary.valid_rows + summary.test_rows);
  // The next-item task of the same log is read by the shop example.
  options.task = "next-item";
  const PrepareSummary next = prepare_taobao(options);
  EXPECT_EQ(next.valid_rows, 6u);  // three users, one pair (two rows) each
  EXPECT_EQ(load_with_example("shop", next), next.train_rows + next.valid_rows + next.test_rows);
}

TEST(RecipeExamples, MovieLens100kNextItem) {
  if (!std::filesystem::exists(kShared / "ml-100k")) GTEST_SKIP() << "../shared/datasets/ml-100k is absent";
  TempDir dir("example_ml100k_next");
  MovieLensOptions options;
  options.source = kShared / "ml-100k" / "original";
  options.out = dir / "out";
  options.task = "next-item";
  const PrepareSummary summary = prepare_movielens_100k(options);
  // 943 users, each with at least 20 ratings: a test and a valid pair each, 100000 - 3 * 943
  // train pairs; two rows per pair.
  EXPECT_EQ(summary.test_rows, 2u * 943);
  EXPECT_EQ(summary.valid_rows, 2u * 943);
  EXPECT_EQ(summary.train_rows, 2u * (100000 - 3 * 943));
  EXPECT_EQ(load_with_example("shop", summary), 2u * (100000 - 943));
}

}  // namespace
}  // namespace heed::recipes
