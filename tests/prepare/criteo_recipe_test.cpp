#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/criteo.h"

namespace heed::recipes {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

const std::filesystem::path kShared = HEED_SOURCE_DIR "/../shared/datasets";

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A Kaggle-layout row: label, 13 integers (some empty), 26 categories (some empty).
std::string kaggle_row(int i) {
  std::string row = std::to_string(i % 3 == 0 ? 1 : 0);
  // (Appending piece by piece: GCC 12 warns falsely about "literal" + std::string at -O3.)
  for (int c = 1; c <= 13; ++c) {
    row += '\t';
    if ((i + c) % 5 != 0) row += std::to_string((i * c) % 97 - 2);
  }
  for (int c = 1; c <= 26; ++c) {
    row += '\t';
    if ((i + c) % 7 != 0) row += fmt::format("{:08x}", i * 31 + c);
  }
  return row;
}

TEST(CriteoRecipe, OneKaggleFileIsSplitByAStableHashOfTheLine) {
  TempDir dir("criteo");
  std::filesystem::create_directories(dir / "source");
  std::string text;
  std::multiset<std::string> rows;
  for (int i = 0; i < 400; ++i) {
    text += kaggle_row(i) + "\n";
    rows.insert(kaggle_row(i));
  }
  text += kaggle_row(5) + "\n";  // a duplicate line lands beside its twin
  rows.insert(kaggle_row(5));
  write_file(dir / "source" / "train.txt", text);

  const PrepareSummary summary = prepare_criteo({dir / "source", dir / "out", {0.1, 0.2}, {}});
  EXPECT_EQ(summary.train_rows + summary.valid_rows + summary.test_rows, 401u);
  // About 10% valid and 20% test of 401 rows.
  EXPECT_GT(summary.valid_rows, 20u);
  EXPECT_LT(summary.valid_rows, 65u);
  EXPECT_GT(summary.test_rows, 50u);
  EXPECT_LT(summary.test_rows, 115u);

  std::multiset<std::string> written;
  std::map<std::string, std::string> side;
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv"}) {
    const auto lines = lines_of(dir / "out" / file);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].substr(0, 12), "label\tI1\tI2\t");
    EXPECT_EQ(lines[0].substr(lines[0].size() - 4), "\tC26");
    for (std::size_t i = 1; i < lines.size(); ++i) {
      written.insert(lines[i]);  // every value, empty ones too, as given
      const auto [it, fresh] = side.emplace(lines[i], file);
      EXPECT_EQ(it->second, file) << "the same line in two parts";
    }
  }
  EXPECT_EQ(written, rows);

  // The split is a function of the line: a second run writes the same files.
  prepare_criteo({dir / "source", dir / "again", {0.1, 0.2}, {}});
  for (const char* file : {"train.tsv", "valid.tsv", "test.tsv"}) {
    EXPECT_EQ(read_file(dir / "out" / file), read_file(dir / "again" / file)) << file;
  }
}

TEST(CriteoRecipe, SharedHeadKeepsItsSplit) {
  if (!std::filesystem::exists(kShared / "criteo-head" / "train.csv")) {
    GTEST_SKIP() << "../shared/datasets/criteo-head is absent";
  }
  TempDir dir("criteo_head");
  const PrepareSummary summary = prepare_criteo({kShared / "criteo-head", dir / "out", {}, {}});
  EXPECT_EQ(summary.train_rows, 7200u);
  EXPECT_EQ(summary.valid_rows, 409u);
  EXPECT_EQ(summary.test_rows, 391u);
  // Rows are the source lines unchanged, after the header.
  const auto source = lines_of(kShared / "criteo-head" / "dev.csv");
  const auto out = lines_of(dir / "out" / "valid.tsv");
  ASSERT_EQ(out.size(), source.size() + 1);
  EXPECT_EQ(out[1], source[0]);
  EXPECT_EQ(out.back(), source.back());
}

TEST(CriteoRecipe, SharedTinySampleWithHeaderAndCommas) {
  const auto sample = kShared / "tiny" / "criteo_sample.txt";
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "../shared/datasets/tiny is absent";
  TempDir dir("criteo_tiny");
  const PrepareSummary summary = prepare_criteo({sample, dir / "out", {0.1, 0.1}, {}});
  EXPECT_EQ(summary.train_rows + summary.valid_rows + summary.test_rows, 200u);
  const auto lines = lines_of(dir / "out" / "train.tsv");
  ASSERT_GT(lines.size(), 1u);
  EXPECT_EQ(std::count(lines[1].begin(), lines[1].end(), '\t'), 39);
}

std::string error_for(const std::string& text) {
  TempDir dir("criteo_bad");
  write_file(dir / "train.txt", text);
  return HEED_ERROR_MESSAGE(prepare_criteo({dir / "train.txt", dir / "out", {}, {}}), ParseError);
}

TEST(CriteoRecipeErrors, NameFileLineAndColumn) {
  const std::string good = kaggle_row(1) + "\n";
  std::string bad_label = kaggle_row(2);
  bad_label[0] = '7';
  EXPECT_THAT(error_for(good + bad_label + "\n"),
              HasSubstr("train.txt:2: column 1 (label): expected a label 0 or 1, found '7'"));
  const std::string row = kaggle_row(2);
  const std::size_t i2 = row.find('\t', 2) + 1;  // I2 becomes "x<number>" or "x"
  const std::string bad_integer = fmt::format("{}x{}", row.substr(0, i2), row.substr(i2));
  EXPECT_THAT(error_for(good + bad_integer + "\n"),
              HasSubstr("train.txt:2: column 3 (I2): expected a number, found 'x"));
  EXPECT_THAT(error_for(good + "1\t2\t3\n"), HasSubstr("train.txt:2: column 4 (I3): expected 40 fields"));
  std::string header = "label";
  for (int c = 1; c <= 13; ++c) header += fmt::format(",I{}", c);
  for (int c = 1; c <= 26; ++c) header += fmt::format(",C{}", c == 9 ? 90 : c);
  EXPECT_THAT(error_for(header + "\n"),
              HasSubstr("train.txt:1: column 23 (C9): expected the header to name column 23 'C9', found 'C90'"));
  EXPECT_THAT(error_for(""), HasSubstr("the file is empty"));
}

TEST(CriteoRecipeErrors, BadSplitAndMissingSource) {
  TempDir dir("criteo_opts");
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_criteo({dir / "nowhere", dir / "out", {}, {}}), Error),
              HasSubstr("does not exist"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_criteo({dir.path(), dir / "out", {}, {}}), Error),
              HasSubstr("no Criteo files found; expected train.csv / train.tsv"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_criteo({dir.path(), dir / "out", {0.5, 0.5}, {}}), Error),
              HasSubstr("leave rows for training"));
}

}  // namespace
}  // namespace heed::recipes
