// Rows from memory (text_table.h, what the Python module's DataFrames become): read exactly as
// the TSV file holding the same cells, errors named by table, row and column.
#include "data/text_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/value_key.h"

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

// Lists that arrive hashed (HashedColumn: a DataFrame's lists, hashed where they are read) give
// the keys their text would: padding and empty values dropped, max_len kept, DIN's alignment
// checked on the values given, beside rows whose cells keep their text.
const char* const kHashedConfig =
    "[data]\nvalid = \"valid.tsv\"\n"
    "[features.item]\n"
    "[features.genres]\nkind = \"multi\"\nmax_len = 2\n"
    "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 2\npadding = \"0\"\n"
    "pooling = \"din\"\nquery = [\"item\"]\n";

// `rows` with the lists given as keys; the cells of rows `with_text` (indices) keep their text,
// the others are left empty.
TextTable hashed_table_of(const std::vector<std::vector<std::string>>& rows, const Schema& schema,
                          const std::vector<std::size_t>& with_text) {
  TextTable t = table_of(rows);
  for (const char* name : {"genres", "history"}) {
    const auto column = static_cast<std::size_t>(std::find(kColumns.begin(), kColumns.end(), name) - kColumns.begin());
    const FeatureInfo& f = *std::find_if(schema.features.begin(), schema.features.end(),
                                         [&](const FeatureInfo& info) { return info.name == name; });
    HashedColumn h{column, f.name, f.kind, schema.tables[static_cast<std::size_t>(f.table)].seed,
                   f.padding, f.separator, f.max_len, {}, {}};
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::size_t first = h.keys.keys.size();
      append_text_keys(f, h.seed, rows[r][column], h.keys.keys);
      h.given.push_back(static_cast<std::uint32_t>(keep_max_len(f, h.keys.keys, first)));
      h.keys.offsets.push_back(h.keys.keys.size());
      if (std::find(with_text.begin(), with_text.end(), r) == with_text.end()) t.cells[column][r] = {};
    }
    t.hashed.push_back(std::move(h));
  }
  return t;
}

const std::vector<std::vector<std::string>> kListRows = {
    {"1.5", "a", "x", "g1|g2|g3", "1", "a|b|c"},
    {"", "b", "y", "", "0", ""},
    {"2e-05", "", "z", "g3||", "1", "0|c|0"},
    {"7", "c", "w", "g1||g2", "0", "a"},
};

TEST(TextTable, ListsThatCameHashedReadAsTheirText) {
  const Config config = parse_config(kHashedConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset text = load_table(table_of(kListRows), config, schema);
  for (const std::vector<std::size_t>& with_text : {std::vector<std::size_t>{}, {0, 2}, {0, 1, 2, 3}}) {
    TextTable t = hashed_table_of(kListRows, schema, with_text);
    const Dataset copied = load_table(t, config, schema);
    const Dataset moved = load_table(std::move(t), config, schema);
    for (const Dataset* data : {&copied, &moved}) {
      ASSERT_EQ(data->rows, kListRows.size());
      for (std::size_t f = 0; f < text.keys.size(); ++f) {
        EXPECT_EQ(data->keys[f].offsets, text.keys[f].offsets) << f;
        EXPECT_EQ(data->keys[f].keys, text.keys[f].keys) << f;
      }
    }
    // The moved table's keys went into the Dataset: it cannot be read again.
    EXPECT_THAT([&] { load_table(t, config, schema); },  // NOLINT(bugprone-use-after-move)
                ::testing::ThrowsMessage<Error>(HasSubstr("read already?")));
  }
}

TEST(TextTable, HashedListsOfAnotherDefinitionOrWithoutAFeatureAreRefused) {
  const Config config = parse_config(kHashedConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  TextTable reseeded = hashed_table_of(kListRows, schema, {});
  reseeded.hashed[1].seed += 1;
  EXPECT_THAT([&] { load_table(reseeded, config, schema); },
              ::testing::ThrowsMessage<Error>(HasSubstr("hashed for a feature 'history' this model does not define")));
  // Another model whose feature reads the genres column too, with no keys hashed for it.
  const Config more = parse_config(std::string(kHashedConfig) + "[features.genres2]\nkind = \"multi\"\ncolumn = \"genres\"\n",
                                   "t.toml");
  const Schema more_schema = Schema::from_config(more);
  EXPECT_THAT([&] { load_table(hashed_table_of(kListRows, schema, {}), more, more_schema); },
              ::testing::ThrowsMessage<Error>(HasSubstr("feature 'genres2' reads column 'genres'")));
  // Rows read as lines (the validation carve by row hashes the training split's) need every
  // list's text; another split's rows are not read as lines.
  const Config carving = parse_config(kHashedConfig, "t.toml", {"data.valid=", "data.valid_fraction=0.2"});
  EXPECT_THROW(load_table(hashed_table_of(kListRows, schema, {}), carving, schema), Error);
  LoadOptions other_split;
  other_split.split_keys_read = false;
  const Dataset carved = load_table(hashed_table_of(kListRows, schema, {}), carving, schema, other_split);
  EXPECT_EQ(carved.keys[2].keys, load_table(table_of(kListRows), carving, schema, other_split).keys[2].keys);
  EXPECT_TRUE(table_lines_read(carving, true));
  EXPECT_FALSE(table_lines_read(carving, false));
  EXPECT_FALSE(table_lines_read(config, true));
  EXPECT_TRUE(table_lines_read(parse_config(kHashedConfig, "t.toml", {"data.on_error=skip"}), false));
}

TEST(TextTable, HashedHistoriesAreCheckedForDinAlignmentAsText) {
  std::string config_text = kHashedConfig;
  config_text.replace(config_text.find("query = [\"item\"]"), 16, "query = [\"item\", \"unused\"]");
  config_text += "attend_with = [\"cats\"]\n[features.unused]\n[features.cats]\nkind = \"sequence\"\nmax_len = 2\n";
  const Config config = parse_config(config_text, "t.toml");
  const Schema schema = Schema::from_config(config);
  // Three values a row, where the first row's history gives three and the second's none.
  TextTable t = hashed_table_of(kListRows, schema, {});
  t.columns.push_back("cats");
  t.cells.push_back(ColumnVector<std::string_view>(kListRows.size(), "k1|k2|k3"));
  EXPECT_THAT([&] { load_table(t, config, schema); },
              ::testing::ThrowsMessage<ParseError>(HasSubstr("'cats' has 3 values but 'history', which it is attended "
                                                             "with, has 0")));
}

}  // namespace
}  // namespace heed
