// Rows from memory (text_table.h, what the Python module's DataFrames become): read exactly as
// the TSV file holding the same cells, errors named by table, row and column.
#include "data/text_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

const char* const kConfig =
    "[data]\nvalid_fraction = 0.3\n"
    "[features.item]\n"
    "[features.genres]\nkind = \"multi\"\n"
    "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 2\n"
    "[features.price]\nkind = \"numeric\"\n";

// Columns in another order than any file would have, one the config does not read.
const std::vector<std::string> kColumns = {"price", "item", "unused", "genres", "label", "history"};
const std::vector<std::vector<std::string>> kRows = {
    {"1.5", "a", "x", "g1|g2", "1", "a|b|c"},
    {"", "b", "y", "", "0", ""},
    {"2e-05", "", "z", "g3", "1", "c"},
    {"7", "ü", "w", "g1||g2", "0", "a"},
};

TextTable table_of(const std::vector<std::vector<std::string>>& rows) {
  TextTable t;
  t.name = "t DataFrame";
  t.columns = kColumns;
  t.rows = rows.size();
  t.cells.resize(kColumns.size());
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) t.cells[c].push_back(row[c]);
  return t;
}

std::string tsv_of(const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  for (std::size_t c = 0; c < kColumns.size(); ++c) text += (c ? "\t" : "") + kColumns[c];
  text += "\n";
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) text += (c ? "\t" : "") + row[c];
    text += "\n";
  }
  return text;
}

TEST(TextTable, ReadsAsTheTsvHoldingTheSameCells) {
  const Config config = parse_config(kConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  testing::TempDir dir("text_table");
  testing::write_file(dir / "rows.tsv", tsv_of(kRows));
  const Dataset file = load_dataset(dir / "rows.tsv", config, schema);
  const Dataset table = load_table(table_of(kRows), config, schema);
  ASSERT_EQ(table.rows, kRows.size());
  EXPECT_EQ(table.labels, file.labels);
  EXPECT_EQ(table.split_keys, file.split_keys);  // the validation carve hashes the same line
  ASSERT_EQ(table.keys.size(), file.keys.size());
  for (std::size_t f = 0; f < file.keys.size(); ++f) {
    EXPECT_EQ(table.keys[f].offsets, file.keys[f].offsets) << f;
    EXPECT_EQ(table.keys[f].keys, file.keys[f].keys) << f;
  }
  ASSERT_EQ(table.dense.size(), 1u);
  EXPECT_FLOAT_EQ(table.dense[0][0], 1.5f);
  EXPECT_TRUE(std::isnan(table.dense[0][1]));
  EXPECT_EQ(table.source_of(2), "t DataFrame:3");
}

TEST(TextTable, ABadCellNamesTableRowAndColumn) {
  const Config config = parse_config(kConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  auto rows = kRows;
  rows[2][0] = "cheap";
  try {
    load_table(table_of(rows), config, schema);
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), HasSubstr("t DataFrame:3: column 1 (price)"));
    EXPECT_THAT(e.what(), HasSubstr("cheap"));
  }
  rows = kRows;
  rows[1][4] = "2";
  EXPECT_THROW(load_table(table_of(rows), config, schema), ParseError);
}

TEST(TextTable, SkippedRowsLeaveNothingBehind) {
  const Config config = parse_config(std::string(kConfig) + "", "t.toml", {"data.on_error=skip",
                                                                           "data.max_skip_fraction=0.5"});
  const Schema schema = Schema::from_config(config);
  auto rows = kRows;
  rows[1][0] = "cheap";
  testing::TempDir dir("text_table_skip");
  LoadReport report;
  LoadOptions options;
  options.rejects_dir = dir.path();
  options.report = &report;
  const Dataset data = load_table(table_of(rows), config, schema, options);
  EXPECT_EQ(data.rows, 3u);
  EXPECT_EQ(report.skipped, 1u);
  EXPECT_EQ(data.labels, (std::vector<float>{1, 1, 0}));
  EXPECT_EQ(data.source_of(1), "t DataFrame:3");
}

// Where nothing reads a row's line (scoring, no validation carve by row) the line is not built,
// and a NUL byte in a cell is still the file's error, or a skipped row under skip.
TEST(TextTable, ANulByteIsTheFilesErrorWhereTheLineIsNotBuilt) {
  const Config config = parse_config(kConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  auto rows = kRows;
  rows[2][1] = std::string("c\0d", 3);
  LoadOptions scoring;
  scoring.require_label = false;
  scoring.features_only = true;
  testing::TempDir dir("text_table_nul");
  testing::write_file(dir / "rows.tsv", tsv_of(rows));
  std::string from_file;
  try {
    load_dataset(dir / "rows.tsv", config, schema, scoring);
  } catch (const ParseError& e) {
    from_file = e.what();
  }
  ASSERT_THAT(from_file, HasSubstr("a NUL byte"));
  const std::string file_name = (dir / "rows.tsv").string() + ":4:";
  try {
    load_table(table_of(rows), config, schema, scoring);
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.what(), "t DataFrame:3:" + from_file.substr(from_file.find(file_name) + file_name.size()));
  }

  const Config skipping = parse_config(kConfig, "t.toml", {"data.on_error=skip", "data.max_skip_fraction=0.5"});
  LoadReport report;
  scoring.rejects_dir = dir.path();
  scoring.report = &report;
  const Dataset data = load_table(table_of(rows), skipping, schema, scoring);
  EXPECT_EQ(data.rows, 3u);
  EXPECT_EQ(report.skipped, 1u);
}

TEST(TextTable, AMissingColumnIsNamed) {
  const Config config = parse_config(kConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  TextTable t = table_of(kRows);
  t.columns[1] = "other";
  EXPECT_THAT([&] { load_table(t, config, schema); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no column 'item' for feature 'item'")));
}

}  // namespace
}  // namespace heed
