// A large file's columns are reserved once its first rows give their length (dataset_loader.cpp,
// RowParser::reserve): the rows read must be exactly those read without it, whatever the rows
// after the estimate hold (longer, shorter, more values); and where the estimate falls short,
// the columns are reserved again instead of doubling.
#include <gtest/gtest.h>

#include <string>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "data/dataset_loader.h"
#include "data/line_reader.h"

namespace heed {
namespace {

void expect_same_rows(const Dataset& a, const Dataset& b) {
  ASSERT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.split_keys, b.split_keys);
  EXPECT_EQ(a.source_lines, b.source_lines);
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (std::size_t f = 0; f < a.keys.size(); ++f) {
    EXPECT_EQ(a.keys[f].keys, b.keys[f].keys) << f;
    EXPECT_EQ(a.keys[f].offsets, b.keys[f].offsets) << f;
  }
  EXPECT_EQ(a.dense, b.dense);
}

TEST(DatasetReserve, RowsAfterTheEstimateReadAsWithout) {
  const Config config = parse_config(
      "[data]\n[features.user]\n[features.tags]\nkind = \"multi\"\n"
      "[features.history]\nkind = \"sequence\"\nmax_len = 5\n[features.price]\nkind = \"numeric\"\n",
      "reserve.toml");
  const Schema schema = Schema::from_config(config);
  std::string text = "label\tuser\ttags\thistory\tprice\n";
  for (int r = 0; r < 12000; ++r) {
    // Short rows first, then longer ones with more values, then blank lines and short rows.
    const int values = r < 5000 ? 1 : r < 9000 ? 12 : 0;
    std::string tags, history;
    for (int v = 0; v < values; ++v) {
      if (v) {
        tags.push_back('|');
        history.push_back('|');
      }
      tags.append(std::to_string((r + v) % 97));
      history.append(std::to_string((r * 7 + v) % 1013));
    }
    text.append(std::to_string(r % 2)).append("\tu").append(std::to_string(r % 311)).append("\t");
    text.append(tags).append("\t").append(history).append("\t").append(std::to_string(r % 50)).append(".5\n");
    if (r >= 9000 && r % 100 == 0) text += "\n";
  }
  testing::TempDir dir("reserve");
  const auto path = dir.path() / "rows.tsv";
  testing::write_file(path, text);
  const Dataset from_file = load_dataset(path, config, schema);  // reserved after 4096 rows
  LineReader in_memory(LineReader::Text{path.string(), text}, line_reader_options(config.data));
  const Dataset from_text = load_dataset(in_memory, config, schema);  // never reserved
  EXPECT_EQ(from_file.rows, 12000u);
  expect_same_rows(from_file, from_text);
}

TEST(DatasetReserve, LinesThatShortenAreReservedAgainNotDoubled) {
  // The first 4,096 lines are long, the rest short: the first estimate holds a fraction of the
  // rows. A column that outgrows its room doubles (and is copied whole), so its capacity would
  // end anywhere up to twice the rows; reserved again from the lines read by then, it ends
  // within a few thousand rows of them.
  const Config config = parse_config("[data]\n[features.user]\n[features.note]\n", "shorten.toml");
  const Schema schema = Schema::from_config(config);
  std::string text = "label\tuser\tnote\n";
  constexpr std::size_t kRows = 40000;
  for (std::size_t r = 0; r < kRows; ++r) {
    text.append(std::to_string(r % 2)).append("\tu").append(std::to_string(r % 311)).append("\t");
    text.append(r < 4096 ? std::string(200, 'n') : std::string("n")).append("\n");
  }
  testing::TempDir dir("shorten");
  const auto path = dir.path() / "rows.tsv";
  testing::write_file(path, text);
  const Dataset data = load_dataset(path, config, schema);
  ASSERT_EQ(data.rows, kRows);
  EXPECT_LE(data.split_keys.capacity(), kRows + 3 * 4096);
  for (const KeyColumn& column : data.keys) {
    EXPECT_LE(column.keys.capacity(), kRows + 3 * 4096);
    EXPECT_LE(column.offsets.capacity(), kRows + 1 + 3 * 4096);
  }
  LineReader in_memory(LineReader::Text{path.string(), text}, line_reader_options(config.data));
  expect_same_rows(data, load_dataset(in_memory, config, schema));
}

}  // namespace
}  // namespace heed
