// Reading rows into a Dataset: column mapping, labels, every feature kind's parsing, and the
// errors a malformed file gets, each naming file, line and column.
#include "data/dataset_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

const char* const kFeatures =
    "[features.item]\n"
    "[features.genres]\nkind = \"multi\"\nmax_len = 2\n"
    "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 2\n"
    "[features.price]\nkind = \"numeric\"\n"
    "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n";

const char* const kHeader = "label\titem\tgenres\thistory\tprice\tcount";

struct Loaded {
  Config config;
  Schema schema;
  Dataset data;
};

Config config_of(const std::string& extra = "", const std::vector<std::string>& overrides = {}) {
  return parse_config(std::string(kFeatures) + extra, "test.toml", overrides);
}

Loaded load(const std::filesystem::path& path, const Config& config, LoadOptions options = {}) {
  Loaded l{config, Schema::from_config(config), {}};
  l.data = load_dataset(path, l.config, l.schema, options);
  return l;
}

std::uint64_t key_of(const Loaded& l, const std::string& feature, std::string_view value) {
  const FeatureInfo& f =
      l.schema.features[static_cast<std::size_t>(l.schema.feature_index(feature))];
  return hash_value(value, l.schema.tables[static_cast<std::size_t>(f.table)].seed);
}

std::vector<std::uint64_t> keys_of(const Loaded& l, const std::string& feature, std::size_t row) {
  const KeyColumn& c = l.data.keys[static_cast<std::size_t>(l.schema.feature_index(feature))];
  return {c.keys.begin() + static_cast<std::ptrdiff_t>(c.offsets[row]),
          c.keys.begin() + static_cast<std::ptrdiff_t>(c.offsets[row + 1])};
}

std::vector<std::uint64_t> expected_keys(const Loaded& l, const std::string& feature,
                                         std::vector<std::string> values) {
  std::vector<std::uint64_t> keys;
  for (const auto& v : values) keys.push_back(key_of(l, feature, v));
  return keys;
}

TEST(DatasetLoader, ReadsEveryFeatureKind) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", std::string(kHeader) +
                                   "\n"
                                   "1\ti7\ta|b\th1|h2\t2.5\t5\n"
                                   "0\ti8\t\t\t\t0\n");
  const Loaded l = load(dir / "rows.tsv", config_of());
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(l.data.labels, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(keys_of(l, "item", 0), expected_keys(l, "item", {"i7"}));
  EXPECT_EQ(keys_of(l, "item", 1), expected_keys(l, "item", {"i8"}));
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"a", "b"}));
  EXPECT_TRUE(keys_of(l, "genres", 1).empty());
  EXPECT_TRUE(keys_of(l, "history", 1).empty());
  // The dense input keeps its raw value; an empty cell is missing (NaN).
  ASSERT_EQ(l.data.dense.size(), 1u);
  EXPECT_EQ(l.data.dense[0][0], 2.5f);
  EXPECT_TRUE(std::isnan(l.data.dense[0][1]));
  // The bucketized count is one key: its bucket in the count table's key space.
  const auto count_seed =
      l.schema.tables[static_cast<std::size_t>(l.schema.features[4].table)].seed;
  EXPECT_EQ(keys_of(l, "count", 0),
            (std::vector<std::uint64_t>{hash_integer(4, count_seed)}));  // floor(log2 5) + 2
  EXPECT_EQ(keys_of(l, "count", 1), (std::vector<std::uint64_t>{hash_integer(0, count_seed)}));
}

TEST(DatasetLoader, SharedTableSharesKeys) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", std::string(kHeader) + "\n1\t42\tx\t42\t1\t1\n");
  const Loaded l = load(dir / "rows.tsv", config_of());
  EXPECT_EQ(keys_of(l, "history", 0), keys_of(l, "item", 0));
  // A different table has a different key space for the same text.
  EXPECT_NE(key_of(l, "genres", "42"), key_of(l, "item", "42"));
}

TEST(DatasetLoader, MultiValuedParsing) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", std::string(kHeader) +
                                   "\n"
                                   "1\ti\t|a||b|\t|h1||h2|\t1\t1\n"  // empty tokens carry nothing
                                   "1\ti\ta|b|c|d\th1|h2|h3|h4\t1\t1\n"  // over max_len = 2
                                   "1\ti\t||\t|\t1\t1\n");
  const Loaded l = load(dir / "rows.tsv", config_of());
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"a", "b"}));
  EXPECT_EQ(keys_of(l, "history", 0), expected_keys(l, "history", {"h1", "h2"}));
  // Multi-valued features keep the first max_len values, sequences the most recent (last).
  EXPECT_EQ(keys_of(l, "genres", 1), expected_keys(l, "genres", {"a", "b"}));
  EXPECT_EQ(keys_of(l, "history", 1), expected_keys(l, "history", {"h3", "h4"}));
  EXPECT_TRUE(keys_of(l, "genres", 2).empty());
  EXPECT_TRUE(keys_of(l, "history", 2).empty());
}

TEST(DatasetLoader, UnlimitedMaxLenKeepsEverythingAndCustomSeparator) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "label\ttags\n1\tx;y;z;w\n");
  const Config config =
      parse_config("[features.tags]\nkind = \"sequence\"\nseparator = \";\"\n", "t.toml");
  const Loaded l = load(dir / "rows.tsv", config);
  EXPECT_EQ(keys_of(l, "tags", 0), expected_keys(l, "tags", {"x", "y", "z", "w"}));
}

TEST(NumericBucket, Log2) {
  FeatureInfo f;
  f.bucketizer = Bucketize::kLog2;
  EXPECT_EQ(numeric_bucket(f, 0.0), 0);
  EXPECT_EQ(numeric_bucket(f, 0.5), 0);
  EXPECT_EQ(numeric_bucket(f, 1.0), 2);
  EXPECT_EQ(numeric_bucket(f, 1.9), 2);
  EXPECT_EQ(numeric_bucket(f, 2.0), 3);
  EXPECT_EQ(numeric_bucket(f, 3.0), 3);
  EXPECT_EQ(numeric_bucket(f, 4.0), 4);
  EXPECT_EQ(numeric_bucket(f, 1023.0), 11);
  EXPECT_EQ(numeric_bucket(f, 1024.0), 12);
  EXPECT_EQ(numeric_bucket(f, -0.5), -1);
  EXPECT_EQ(numeric_bucket(f, -3.0), -3);
}

TEST(NumericBucket, Boundaries) {
  FeatureInfo f;
  f.bucketizer = Bucketize::kBoundaries;
  f.boundaries = {1.0, 2.0, 3.0};
  EXPECT_EQ(numeric_bucket(f, 0.5), 0);
  EXPECT_EQ(numeric_bucket(f, 1.0), 1);  // an edge starts the bucket above it
  EXPECT_EQ(numeric_bucket(f, 2.5), 2);
  EXPECT_EQ(numeric_bucket(f, 3.0), 3);
  EXPECT_EQ(numeric_bucket(f, 1e9), 3);
  EXPECT_EQ(numeric_bucket(f, -1e9), 0);
}

TEST(DatasetLoader, BoundariesBucketsBecomeKeys) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "label\tage\n1\t17\n0\t30\n0\t\n1\t 30 \n");
  const Config config = parse_config(
      "[features.age]\nkind = \"numeric\"\nbucketize = \"boundaries\"\nboundaries = [18, 25, 35]\n",
      "t.toml");
  const Loaded l = load(dir / "rows.tsv", config);
  const auto seed = l.schema.tables[0].seed;
  EXPECT_EQ(keys_of(l, "age", 0), (std::vector<std::uint64_t>{hash_integer(0, seed)}));
  EXPECT_EQ(keys_of(l, "age", 1), (std::vector<std::uint64_t>{hash_integer(2, seed)}));
  // A missing value has its own key, distinct from every bucket; spaces around a number are fine.
  ASSERT_EQ(keys_of(l, "age", 2).size(), 1u);
  for (std::int64_t b = 0; b <= 3; ++b) EXPECT_NE(keys_of(l, "age", 2)[0], hash_integer(b, seed));
  EXPECT_EQ(keys_of(l, "age", 3), keys_of(l, "age", 1));
}

TEST(DatasetLoader, DenseNumericMissingValuesAreNaN) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "label\tprice\n1\t\n0\t  \n1\t-1e3\n0\t+4\n");
  const Config config = parse_config("[features.price]\nkind = \"numeric\"\n", "t.toml");
  const Loaded l = load(dir / "rows.tsv", config);
  ASSERT_EQ(l.data.rows, 4u);
  EXPECT_TRUE(std::isnan(l.data.dense[0][0]));
  EXPECT_TRUE(std::isnan(l.data.dense[0][1]));
  EXPECT_EQ(l.data.dense[0][2], -1000.0f);
  EXPECT_EQ(l.data.dense[0][3], 4.0f);
}

TEST(DatasetLoader, CrlfBomAndBlankLines) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "\xEF\xBB\xBFlabel\titem\r\n1\ta\r\n\r\n0\tb\r\n");
  const Config config = parse_config("[features.item]\n", "t.toml");
  const Loaded l = load(dir / "rows.tsv", config);
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(keys_of(l, "item", 1), expected_keys(l, "item", {"b"}));  // not "b\r"
}

TEST(DatasetLoader, FileWithoutHeaderUsesDataColumns) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "x\t1\ny\t0\n");
  const Config config = parse_config(
      "[data]\nheader = false\ncolumns = [\"item\", \"label\"]\n[features.item]\n", "t.toml");
  const Loaded l = load(dir / "rows.tsv", config);
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(l.data.labels, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(keys_of(l, "item", 0), expected_keys(l, "item", {"x"}));

  const Config no_names = parse_config("[data]\nheader = false\n[features.item]\n", "t.toml");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load(dir / "rows.tsv", no_names), Error),
              HasSubstr("data.columns"));
}

TEST(DatasetLoader, QuotedCsv) {
  TempDir dir("dataset");
  write_file(dir / "rows.csv",
             "label,title,genres\n1,\"Toy Story, 1995\",\"a|b\"\n0,\"say \"\"hi\"\"\",c\n");
  const Config config = parse_config(
      "[data]\nformat = \"csv\"\n[features.title]\n[features.genres]\nkind = \"multi\"\n",
      "t.toml");
  const Loaded l = load(dir / "rows.csv", config);
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(keys_of(l, "title", 0), expected_keys(l, "title", {"Toy Story, 1995"}));
  EXPECT_EQ(keys_of(l, "title", 1), expected_keys(l, "title", {"say \"hi\""}));
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"a", "b"}));
}

TEST(DatasetLoader, GzipFileAndCustomDelimiter) {
  TempDir dir("dataset");
  const std::string text = "label;item;genres\n1;a;x|y\n0;b;\n";
  gzFile file = gzopen((dir / "rows.csv.gz").c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
  const Config config = parse_config(
      "[data]\ndelimiter = \";\"\n[features.item]\n[features.genres]\nkind = \"multi\"\n",
      "t.toml");
  const Loaded l = load(dir / "rows.csv.gz", config);
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(l.data.labels, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(keys_of(l, "item", 1), expected_keys(l, "item", {"b"}));
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"x", "y"}));
}

TEST(DatasetLoader, PredictionFilesMayOmitTheLabel) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "item\nx\ny\n");
  const Config config = parse_config("[features.item]\n", "t.toml");
  LoadOptions options;
  options.require_label = false;
  const Loaded l = load(dir / "rows.tsv", config, options);
  EXPECT_EQ(l.data.rows, 2u);
  EXPECT_FALSE(l.data.has_labels());
  const std::string message = HEED_ERROR_MESSAGE(load(dir / "rows.tsv", config), Error);
  EXPECT_THAT(message, HasSubstr("no label column 'label'"));
  EXPECT_THAT(message, HasSubstr("columns: item"));
}

TEST(DatasetLoader, EmptyAndHeaderOnlyFiles) {
  TempDir dir("dataset");
  write_file(dir / "empty.tsv", "");
  write_file(dir / "header.tsv", std::string(kHeader) + "\n");
  const std::string message = HEED_ERROR_MESSAGE(load(dir / "empty.tsv", config_of()), Error);
  EXPECT_THAT(message, HasSubstr("empty.tsv"));
  EXPECT_THAT(message, HasSubstr("empty"));
  const Loaded l = load(dir / "header.tsv", config_of());
  EXPECT_EQ(l.data.rows, 0u);
  EXPECT_TRUE(l.data.labels.empty());
}

TEST(DatasetLoader, MissingFeatureColumnListsTheColumns) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "label\titem\tgenres\thistory\tprice\n1\ta\tb\tc\t1\n");
  const std::string message = HEED_ERROR_MESSAGE(load(dir / "rows.tsv", config_of()), Error);
  EXPECT_THAT(message, HasSubstr("rows.tsv"));
  EXPECT_THAT(message, HasSubstr("no column 'count' for feature 'count'"));
  EXPECT_THAT(message, HasSubstr("label, item, genres, history, price"));
  // The same for the group column of gAUC.
  write_file(dir / "ok.tsv", std::string(kHeader) + "\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load(dir / "ok.tsv", config_of("", {"eval.group=user"})), Error),
              HasSubstr("no column 'user' for eval.group"));
}


TEST(DatasetLoader, ARepeatedColumnNameIsAnErrorWhenSomethingTakingOneValueReadsIt) {
  TempDir dir("dataset");
  // A categorical feature over columns of one name: reading the first alone would drop the rest.
  write_file(dir / "item.tsv", "label\titem\titem\tgenres\thistory\tprice\tcount\n1\ta\tz\tb\tc\t1\t1\n");
  const std::string message = HEED_ERROR_MESSAGE(load(dir / "item.tsv", config_of()), Error);
  EXPECT_THAT(message, HasSubstr("item.tsv"));
  EXPECT_THAT(message, HasSubstr("2 columns 'item' (columns 2, 3)"));
  EXPECT_THAT(message, HasSubstr("feature 'item'"));
  EXPECT_THAT(message, HasSubstr("only a multi or sequence feature reads several columns of one name"));
  write_file(dir / "label.tsv", "label\tlabel\titem\tgenres\thistory\tprice\tcount\n1\t0\ta\tb\tc\t1\t1\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load(dir / "label.tsv", config_of()), Error), HasSubstr("the label"));
  // Repeats among columns no feature reads are harmless.
  write_file(dir / "extra.tsv", std::string(kHeader) + "\tnote\tnote\n1\ta\tb\tc\t1\t1\tx\ty\n");
  EXPECT_EQ(load(dir / "extra.tsv", config_of()).data.rows, 1u);
}

// A sequence laid out one value per column, every column of one name (logs padded to a fixed
// length): the feature's values are the cells in column order, each split like a cell of its
// own, as if the row held them joined by the separator; max_len then keeps the last ones.
TEST(DatasetLoader, AListFeatureReadsEveryColumnOfItsNameInOrder) {
  TempDir dir("dataset");
  write_file(dir / "spread.tsv",
             "history\tlabel\titem\thistory\tgenres\tprice\thistory\tcount\n"
             "h1\t1\ta\th2\tx|y\t1\th3\t1\n"
             "\t0\tb\th4|h5\t\t2\t\t1\n");
  const Loaded l = load(dir / "spread.tsv", config_of("", {"features.history.max_len=0"}));
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(keys_of(l, "history", 0), expected_keys(l, "history", {"h1", "h2", "h3"}));
  EXPECT_EQ(keys_of(l, "history", 1), expected_keys(l, "history", {"h4", "h5"}));  // empty cells carry nothing
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"x", "y"}));
  EXPECT_EQ(keys_of(l, "item", 1), expected_keys(l, "item", {"b"}));
  // The same rows with the values joined in one column read the same keys.
  write_file(dir / "joined.tsv", std::string(kHeader) + "\n1\ta\tx|y\th1|h2|h3\t1\t1\n0\tb\t\th4|h5\t2\t1\n");
  const Loaded joined = load(dir / "joined.tsv", config_of("", {"features.history.max_len=0"}));
  for (const char* feature : {"item", "genres", "history", "count"})
    for (std::size_t row = 0; row < 2; ++row) EXPECT_EQ(keys_of(joined, feature, row), keys_of(l, feature, row));
  // max_len keeps the most recent values across the columns.
  const Loaded cut = load(dir / "spread.tsv", config_of());
  EXPECT_EQ(keys_of(cut, "history", 0), expected_keys(cut, "history", {"h2", "h3"}));
}

// features.NAME.padding: the value that fills a fixed-length sequence's empty slots is dropped
// as an empty value is, wherever it stands; other values that merely contain it are kept.
TEST(DatasetLoader, PaddingValuesAreDroppedLikeEmptyOnes) {
  TempDir dir("dataset");
  write_file(dir / "padded.tsv", std::string(kHeader) + "\n1\ta\t0|x|0\t0|0|h1|10|0\t1\t1\n");
  const Loaded l =
      load(dir / "padded.tsv",
           config_of("", {"features.history.max_len=0", "features.history.padding=0", "features.genres.padding=0"}));
  EXPECT_EQ(keys_of(l, "history", 0), expected_keys(l, "history", {"h1", "10"}));
  EXPECT_EQ(keys_of(l, "genres", 0), expected_keys(l, "genres", {"x"}));
  // Without it, "0" is a value like any other.
  const Loaded plain = load(dir / "padded.tsv", config_of("", {"features.history.max_len=0"}));
  EXPECT_EQ(keys_of(plain, "history", 0), expected_keys(plain, "history", {"0", "0", "h1", "10", "0"}));
}

// The ParseError `path` gives, checked to name the file, line and column.
ParseError parse_error_of(const std::filesystem::path& path, const Config& config) {
  try {
    load(path, config);
  } catch (const ParseError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a ParseError, got: " << e.what();
  }
  ADD_FAILURE() << "expected a ParseError, nothing thrown";
  return ParseError({}, "", "");
}

TEST(DatasetLoaderErrors, WrongColumnCount) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", std::string(kHeader) + "\n1\ta\tb\tc\t1\t1\n\n0\ta\tb\tc\t1\n");
  const ParseError e = parse_error_of(dir / "rows.tsv", config_of());
  EXPECT_EQ(e.reason(), "column_count");
  EXPECT_EQ(e.where().line, 4u);  // blank lines still count
  EXPECT_THAT(e.what(), HasSubstr("rows.tsv:4"));
  EXPECT_THAT(e.what(), HasSubstr("expected 6 columns, found 5"));
}

TEST(DatasetLoaderErrors, BadLabels) {
  TempDir dir("dataset");
  for (const std::string bad : {"2", "yes", "", "0.5", "nan"}) {
    SCOPED_TRACE(bad);
    write_file(dir / "rows.tsv",
               std::string(kHeader) + "\n1\ta\tb\tc\t1\t1\n" + bad + "\ta\tb\tc\t1\t1\n");
    const ParseError e = parse_error_of(dir / "rows.tsv", config_of());
    EXPECT_EQ(e.reason(), "label");
    EXPECT_THAT(e.what(), HasSubstr("rows.tsv:3: column 1 (label)"));
    EXPECT_THAT(e.what(), HasSubstr("'" + bad + "'"));
  }
}

TEST(DatasetLoader, LabelsByThresholdOrByText) {
  TempDir dir("dataset");
  const std::string row = "\ta\tb\tc\t1\t1\n";
  // Star ratings: 4 and above are positive.
  write_file(dir / "ratings.tsv", std::string(kHeader) + "\n5" + row + "3" + row + "4" + row + "1.5" + row);
  const Loaded rated = load(dir / "ratings.tsv", config_of("", {"data.label_threshold=4"}));
  EXPECT_EQ(rated.data.labels, (std::vector<float>{1, 0, 1, 0}));
  write_file(dir / "bad.tsv", std::string(kHeader) + "\n5" + row + "five" + row);
  ParseError e = parse_error_of(dir / "bad.tsv", config_of("", {"data.label_threshold=4"}));
  EXPECT_EQ(e.where().line, 3u);
  EXPECT_THAT(e.what(), HasSubstr("label must be a number (data.label_threshold = 4), found 'five'"));

  // Text labels, spaces around them ignored (the census files write " 50000+.").
  const std::vector<std::string> texts = {"data.label_texts=[\"- 50000.\", \"50000+.\"]"};
  write_file(dir / "census.tsv", std::string(kHeader) + "\n 50000+." + row + " - 50000." + row);
  EXPECT_EQ(load(dir / "census.tsv", config_of("", texts)).data.labels, (std::vector<float>{1, 0}));
  write_file(dir / "other.tsv", std::string(kHeader) + "\n 50000+." + row + "1" + row);
  e = parse_error_of(dir / "other.tsv", config_of("", texts));
  EXPECT_EQ(e.reason(), "label");
  EXPECT_THAT(e.what(), HasSubstr("other.tsv:3"));
  EXPECT_THAT(e.what(), HasSubstr("(data.label_texts), found '1'"));

  std::vector<std::string> both = texts;
  both.push_back("data.label_threshold=1");
  EXPECT_THAT(HEED_ERROR_MESSAGE(config_of("", both), Error), HasSubstr("set one"));
}

TEST(DatasetLoaderErrors, NonNumericNumericFeatures) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", std::string(kHeader) + "\n1\ta\tb\tc\tcheap\t1\n");
  ParseError e = parse_error_of(dir / "rows.tsv", config_of());
  EXPECT_EQ(e.reason(), "numeric");
  EXPECT_THAT(e.what(), HasSubstr("rows.tsv:2: column 5 (price)"));
  EXPECT_THAT(e.what(), HasSubstr("'cheap'"));

  write_file(dir / "rows.tsv", std::string(kHeader) + "\n1\ta\tb\tc\t1\t12x\n");
  e = parse_error_of(dir / "rows.tsv", config_of());
  EXPECT_THAT(e.what(), HasSubstr("rows.tsv:2: column 6 (count)"));

  write_file(dir / "rows.tsv", std::string(kHeader) + "\n1\ta\tb\tc\tinf\t1\n");
  e = parse_error_of(dir / "rows.tsv", config_of());
  EXPECT_THAT(e.what(), HasSubstr("column 5 (price)"));
}

TEST(DatasetLoaderErrors, SequencesAttendedTogetherAreComparedBeforeMaxLen) {
  TempDir dir("dataset");
  const Config config = parse_config(
      "[features.item]\n[features.genre]\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 2\npooling = \"din\"\n"
      "query = [\"item\", \"genre\"]\nattend_with = [\"history_genres\"]\n"
      "[features.history_genres]\nkind = \"sequence\"\ntable = \"genre\"\nmax_len = 2\n",
      "test.toml", {});
  const std::string header = "label\titem\tgenre\thistory\thistory_genres\n";
  write_file(dir / "aligned.tsv", header + "1\ta\tx\tp|q|r\tu|v|w\n0\tb\ty\t\t\n");
  EXPECT_EQ(load(dir / "aligned.tsv", config).data.rows, 2u);
  // Four genres for three items: both would keep their last two, paired one step apart.
  write_file(dir / "shifted.tsv", header + "1\ta\tx\tp|q|r\tu|v|w\n1\ta\tx\tp|q|r\tu|v|w|z\n");
  const ParseError e = parse_error_of(dir / "shifted.tsv", config);
  EXPECT_EQ(e.reason(), "din_alignment");
  EXPECT_EQ(e.where().line, 3u);
  EXPECT_THAT(e.what(), HasSubstr("'history_genres' has 4 values but 'history', which it is attended with, has 3"));
}

// The layout of public DIN logs: each history spread over columns of one name, padded with 0 to
// a fixed length. The companion takes the lead's padding, so the padded slots drop from both
// and the values stay paired.
TEST(DatasetLoader, SpreadSequencesAttendedTogetherDropTheirPaddingAlike) {
  TempDir dir("dataset");
  const Config config = parse_config(
      "[data]\nformat = \"csv\"\n[features.item]\n[features.genre]\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\npooling = \"din\"\npadding = \"0\"\n"
      "query = [\"item\", \"genre\"]\nattend_with = [\"history_genres\"]\n"
      "[features.history_genres]\nkind = \"sequence\"\ntable = \"genre\"\n",
      "test.toml", {});
  EXPECT_EQ(config.find_feature("history_genres")->padding, "0");
  write_file(dir / "log.csv",
             "history,history,history,history_genres,history_genres,history_genres,item,genre,label\n"
             "0,p,q,0,u,v,a,x,1\n"
             "0,0,0,0,0,0,b,y,0\n");
  const Loaded l{config, Schema::from_config(config), load_dataset(dir / "log.csv", config, Schema::from_config(config))};
  ASSERT_EQ(l.data.rows, 2u);
  EXPECT_EQ(keys_of(l, "history", 0), expected_keys(l, "history", {"p", "q"}));
  EXPECT_EQ(keys_of(l, "history_genres", 0), expected_keys(l, "history_genres", {"u", "v"}));
  EXPECT_TRUE(keys_of(l, "history", 1).empty());
  // A slot padded in one sequence and not in the other breaks the pairing: a bad row.
  write_file(dir / "shifted.csv",
             "history,history,history_genres,history_genres,item,genre,label\n0,p,w,u,a,x,1\n");
  const ParseError e = parse_error_of(dir / "shifted.csv", config);
  EXPECT_EQ(e.reason(), "din_alignment");
}

TEST(DatasetLoaderErrors, UnterminatedQuoteInCsv) {
  TempDir dir("dataset");
  write_file(dir / "rows.csv", "label,title\n1,ok\n0,\"never closed\n");
  const Config config = parse_config("[data]\nformat = \"csv\"\n[features.title]\n", "t.toml");
  const ParseError e = parse_error_of(dir / "rows.csv", config);
  EXPECT_EQ(e.reason(), "quoting");
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:3: column 2 (title)"));
  EXPECT_THAT(e.what(), HasSubstr("the quoted field opened on line 3 is not closed by the end of the file"));
}

TEST(DatasetLoaderErrors, LineNumbersCountTheHeaderAndBom) {
  TempDir dir("dataset");
  write_file(dir / "rows.tsv", "\xEF\xBB\xBFlabel\titem\r\n1\ta\r\nmaybe\tb\r\n");
  const Config config = parse_config("[features.item]\n", "t.toml");
  const ParseError e = parse_error_of(dir / "rows.tsv", config);
  EXPECT_EQ(e.where().line, 3u);
  EXPECT_EQ(e.where().column, 1u);
  EXPECT_EQ(e.where().column_name, "label");
}

}  // namespace
}  // namespace heed
