// The raw-row reader of `heed explain`: rows counted as the loader counts them (header and
// blank lines skipped), so a Dataset row and a raw row name the same line; values split as
// the loader keys them.
#include "explain/raw_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "data/dataset_loader.h"

namespace heed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char* kConfig = R"(
[data]
label = "label"
[features.item]
[features.history]
kind = "sequence"
max_len = 2
[features.tags]
kind = "multi"
max_len = 2
)";

TEST(RawRowReader, CountsRowsAsTheLoaderDoes) {
  testing::TempDir dir("raw_rows");
  const auto file = dir / "rows.tsv";
  testing::write_file(
      file, "label\titem\thistory\ttags\n\n1\ti1\ta|b|c\tx\n\n\n0\ti2\t\ty||z|w\n1\ti3\tb\t\n");
  const Config config = parse_config(kConfig, "test.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset data = load_dataset(file, config, schema);
  ASSERT_EQ(data.rows, 3u);

  explain::RawRowReader reader(file, config);
  ASSERT_THAT(reader.columns("item"), ElementsAre(1u));
  const std::size_t item = reader.columns("item")[0];
  std::vector<std::size_t> rows, lines;
  std::vector<std::string> items;
  while (reader.next()) {
    rows.push_back(reader.row());
    lines.push_back(reader.line());
    items.emplace_back(reader.value(item));
  }
  EXPECT_THAT(rows, ElementsAre(0u, 1u, 2u));
  EXPECT_THAT(lines, ElementsAre(3u, 6u, 7u));
  EXPECT_THAT(items, ElementsAre("i1", "i2", "i3"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(reader.columns("price"), Error), HasSubstr("no column 'price'"));
}

TEST(RawRowReader, SplitsValuesAsTheLoaderKeysThem) {
  const Config config = parse_config(kConfig, "test.toml");
  const Schema schema = Schema::from_config(config);
  const FeatureInfo& history =
      schema.features[static_cast<std::size_t>(schema.feature_index("history"))];
  const FeatureInfo& tags = schema.features[static_cast<std::size_t>(schema.feature_index("tags"))];
  const FeatureInfo& item = schema.features[static_cast<std::size_t>(schema.feature_index("item"))];
  EXPECT_THAT(explain::split_values(history, "a|b|c"),
              ElementsAre("b", "c"));  // the most recent max_len
  EXPECT_THAT(explain::split_values(tags, "y||z|w"),
              ElementsAre("y", "z"));  // the first max_len, empties dropped
  EXPECT_TRUE(explain::split_values(history, "").empty());
  EXPECT_THAT(explain::split_values(item, "a|b"), ElementsAre("a|b"));  // one value, as written
  FeatureInfo padded = history;  // features.NAME.padding: dropped as the loader drops it
  padded.padding = "0";
  EXPECT_THAT(explain::split_values(padded, "0|a|0|b|0"), ElementsAre("a", "b"));
}

// A header that repeats a name (a sequence spread over columns): every position, in order.
TEST(RawRowReader, FindsEveryColumnOfARepeatedName) {
  testing::TempDir dir("raw_rows");
  const auto file = dir / "rows.tsv";
  testing::write_file(file, "history\tlabel\thistory\titem\thistory\ttags\nh1\t1\th2\ti1\th3\tx\n");
  explain::RawRowReader reader(file, parse_config(kConfig, "test.toml"));
  EXPECT_THAT(reader.columns("history"), ElementsAre(0u, 2u, 4u));
  ASSERT_TRUE(reader.next());
  EXPECT_EQ(reader.value(4), "h3");
}

}  // namespace
}  // namespace heed
