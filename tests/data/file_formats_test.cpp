// The formats beyond TSV: libSVM/libFM and libFFM (fields mapped to features by name), the
// Criteo preset on the real Criteo head, zstd input, and several files or a glob per split.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "../support/compressed_text.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "data/file_patterns.h"
#include "data/utf8.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

std::uint64_t key(const Schema& schema, const std::string& feature, std::string_view value) {
  const FeatureInfo& f = schema.features[static_cast<std::size_t>(schema.feature_index(feature))];
  return hash_value(value, schema.tables[static_cast<std::size_t>(f.table)].seed);
}

std::vector<std::uint64_t> row_keys(const Dataset& data, const Schema& schema, const std::string& feature,
                                    std::size_t row) {
  const KeyColumn& c = data.keys[static_cast<std::size_t>(schema.feature_index(feature))];
  return {c.keys.begin() + static_cast<std::ptrdiff_t>(c.offsets[row]),
          c.keys.begin() + static_cast<std::ptrdiff_t>(c.offsets[row + 1])};
}

const char* const kLibsvmConfig =
    "[data]\nformat = \"libsvm\"\ncolumns = [\"user\", \"item\", \"price\"]\nlabel_values = [-1, 1]\n"
    "[features.user]\n[features.item]\n[features.price]\nkind = \"numeric\"\n";

TEST(Libsvm, FieldsByPosition) {
  TempDir dir("formats");
  write_file(dir / "rows.libfm", "1 12:1 507:1 900:2.5\n-1  3:1\t44:1 900:0  \n");
  const Config config = parse_config(kLibsvmConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset data = load_dataset(dir / "rows.libfm", config, schema);
  ASSERT_EQ(data.rows, 2u);
  EXPECT_EQ(data.labels, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(row_keys(data, schema, "user", 0), (std::vector<std::uint64_t>{key(schema, "user", "12")}));
  EXPECT_EQ(row_keys(data, schema, "item", 1), (std::vector<std::uint64_t>{key(schema, "item", "44")}));
  EXPECT_EQ(data.dense[0], (std::vector<float>{2.5f, 0.0f}));  // the numeric feature reads the value
}

TEST(Libsvm, ErrorsNameLineAndToken) {
  TempDir dir("formats");
  const Config config = parse_config(kLibsvmConfig, "t.toml");
  const Schema schema = Schema::from_config(config);
  struct Case {
    std::string line, reason, message;
  };
  for (const Case& c : std::vector<Case>{
           {"1 12:1 507:1", "column_count", "rows.libfm:2: expected 3 index:value pairs"},
           {"1 12:1 507:1 1:1 2:1", "column_count", "found more"},
           {"1 12 507:1 1:1", "sparse_pair", "rows.libfm:2: column 2: expected index:value"},
           {"1 a:1 507:1 1:1", "sparse_pair", "found 'a:1'"},
           {"1 12:1 507:0.5 1:1", "sparse_value", "column 3: feature 'item' is categorical and reads index:1 pairs"},
           {"1 12:1 507:1 1:x", "numeric", "column 4 (price)"},
           {"0 12:1 507:1 1:1", "label", "label must be -1 or 1, found '0'"},
       }) {
    SCOPED_TRACE(c.line);
    write_file(dir / "rows.libfm", "1 1:1 2:1 3:1\n" + c.line + "\n");
    try {
      load_dataset(dir / "rows.libfm", config, schema);
      ADD_FAILURE() << "no error";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.reason(), c.reason);
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    }
  }
}

TEST(Libsvm, FieldsByIndexRanges) {
  TempDir dir("formats");
  write_file(dir / "rows.svm", "1 3:1 11:1 12:1\n0 25:7\n");
  const Config config = parse_config(
      "[data]\nformat = \"libsvm\"\ncolumns = [\"user\", \"tags\", \"price\"]\nsparse_fields = \"ranges\"\n"
      "field_starts = [0, 10, 20]\n[features.user]\n[features.tags]\nkind = \"multi\"\n"
      "[features.price]\nkind = \"numeric\"\n",
      "t.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset data = load_dataset(dir / "rows.svm", config, schema);
  ASSERT_EQ(data.rows, 2u);
  EXPECT_EQ(row_keys(data, schema, "tags", 0),
            (std::vector<std::uint64_t>{key(schema, "tags", "11"), key(schema, "tags", "12")}));
  EXPECT_TRUE(std::isnan(data.dense[0][0]));  // no pair in the price field: missing
  EXPECT_EQ(data.dense[0][1], 7.0f);
  // An absent categorical field is the empty value, as an empty TSV cell.
  EXPECT_EQ(row_keys(data, schema, "user", 1), (std::vector<std::uint64_t>{key(schema, "user", "")}));
  // Two pairs for a categorical field are an error, not a silent pick.
  write_file(dir / "rows.svm", "1 3:1 4:1\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.svm", config, schema), ParseError),
              HasSubstr("categorical feature 'user' takes one index from field 'user', found 2"));
}

TEST(Libffm, FieldsById) {
  TempDir dir("formats");
  write_file(dir / "rows.ffm", "1 0:5:1 2:9:1 1:7:1\n0 1:8:1\n1 3:1:1\n");
  const Config config = parse_config(
      "[data]\nformat = \"libffm\"\ncolumns = [\"user\", \"item\", \"tags\"]\n"
      "[features.user]\n[features.item]\n[features.tags]\nkind = \"multi\"\n",
      "t.toml");
  const Schema schema = Schema::from_config(config);
  try {
    load_dataset(dir / "rows.ffm", config, schema);
    ADD_FAILURE() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.reason(), "sparse_field");
    EXPECT_THAT(e.what(), HasSubstr("rows.ffm:3: column 2: field 3 in '3:1:1', but data.columns names 3 fields"));
  }
  write_file(dir / "rows.ffm", "1 0:5:1 2:9:1 1:7:1\n0 1:8:1\n");
  const Dataset data = load_dataset(dir / "rows.ffm", config, schema);
  ASSERT_EQ(data.rows, 2u);
  EXPECT_EQ(row_keys(data, schema, "item", 0), (std::vector<std::uint64_t>{key(schema, "item", "7")}));
  EXPECT_EQ(row_keys(data, schema, "tags", 0), (std::vector<std::uint64_t>{key(schema, "tags", "9")}));
  EXPECT_TRUE(row_keys(data, schema, "tags", 1).empty());
  write_file(dir / "rows.ffm", "1 0:5\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.ffm", config, schema), ParseError),
              HasSubstr("expected field:index:value"));
  // A sparse line's field holds several values already: a field named twice stays ambiguous,
  // even for a multi feature (a delimited file's repeated column is read in order).
  const Config twice = parse_config(
      "[data]\nformat = \"libffm\"\ncolumns = [\"user\", \"tags\", \"tags\"]\n"
      "[features.user]\n[features.tags]\nkind = \"multi\"\n",
      "t.toml");
  write_file(dir / "rows.ffm", "1 0:5:1 1:9:1 2:7:1\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.ffm", twice, Schema::from_config(twice)), Error),
              HasSubstr("2 columns 'tags' (columns 3, 4), so feature 'tags' is ambiguous"));
}

TEST(Libsvm, NeedsFieldNames) {
  const Config config = parse_config("[data]\nformat = \"libsvm\"\n[features.user]\n", "t.toml");
  TempDir dir("formats");
  write_file(dir / "rows.svm", "1 1:1\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.svm", config, Schema::from_config(config)), Error),
              HasSubstr("needs data.columns"));
}

TEST(Frappe, RealLibfmFilesLoad) {
  const std::filesystem::path file = HEED_SOURCE_DIR "/../shared/datasets/frappe/frappe.test.libfm";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent (../shared/datasets)";
  const Config config = load_config(HEED_SOURCE_DIR "/examples/frappe/libfm.toml",
                                    {"data.dir=" HEED_SOURCE_DIR "/../shared/datasets/frappe"});
  const Dataset data = load_dataset(file, config, Schema::from_config(config));
  EXPECT_EQ(data.rows, 28860u);
  double positives = 0;
  for (float l : data.labels) positives += l;
  EXPECT_NEAR(positives / static_cast<double>(data.rows), 1.0 / 3.0, 0.01);  // 1 positive : 2 negatives
}

TEST(Criteo, PresetReadsTheRealHead) {
  const std::filesystem::path file = HEED_SOURCE_DIR "/../shared/datasets/criteo-head/dev.csv";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent (../shared/datasets)";
  const Config config = load_config(HEED_SOURCE_DIR "/examples/criteo/raw.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset data = load_dataset(file, config, schema);
  EXPECT_EQ(data.rows, 409u);
  ASSERT_EQ(schema.features.size(), 39u);
  // Row 1 of dev.csv, checked against its text: I1 empty -> the missing bucket, C1 its hex value.
  std::string first_line;
  {
    std::ifstream in(file);
    std::getline(in, first_line);
  }
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = first_line.find('\t', start);
    cells.push_back(first_line.substr(start, tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  ASSERT_EQ(cells.size(), 40u);
  EXPECT_EQ(data.labels[0], cells[0] == "1" ? 1.0f : 0.0f);
  EXPECT_EQ(row_keys(data, schema, "C1", 0), (std::vector<std::uint64_t>{key(schema, "C1", cells[14])}));
  EXPECT_EQ(row_keys(data, schema, "C26", 0), (std::vector<std::uint64_t>{key(schema, "C26", cells[39])}));
}

TEST(Zstd, ReadsLikeThePlainFile) {
  TempDir dir("formats");
  std::string text = "label\titem\n";
  for (int i = 0; i < 5000; ++i) text += fmt::format("{}\tv{}\n", i % 2, i * 7919 % 1000);
  write_file(dir / "rows.tsv", text);
  write_file(dir / "rows.bin", testing::zstd(text));  // told by its first bytes, not its name
  const Config config = parse_config("[features.item]\n", "t.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset plain = load_dataset(dir / "rows.tsv", config, schema);
  const Dataset zst = load_dataset(dir / "rows.bin", config, schema);
  EXPECT_EQ(zst.rows, 5000u);
  EXPECT_EQ(zst.labels, plain.labels);
  EXPECT_EQ(zst.keys[0].keys, plain.keys[0].keys);
}

TEST(FilePatterns, GlobAndBraceListsInNameOrder) {
  TempDir dir("formats");
  write_file(dir / "part-2.tsv", "label\titem\n0\tc\n");
  write_file(dir / "part-1.tsv", "label\titem\n1\ta\n1\tb\n");
  write_file(dir / "other.tsv", "label\titem\n0\tz\n");
  const auto files = expand_file_pattern(dir / "part-*.tsv");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "part-1.tsv");
  EXPECT_EQ(expand_file_pattern(dir / "{other,part-2}.tsv").size(), 2u);
  EXPECT_THAT(HEED_ERROR_MESSAGE(expand_file_pattern(dir / "nothing-*.tsv"), Error), HasSubstr("no file matches"));
  EXPECT_EQ(expand_file_pattern(dir / "plain.tsv").size(), 1u);  // no wildcard: as written

  const Config config = parse_config("[features.item]\n", "t.toml");
  const Dataset data = load_dataset(files, config, Schema::from_config(config));
  EXPECT_EQ(data.rows, 3u);
  EXPECT_EQ(data.labels, (std::vector<float>{1.0f, 1.0f, 0.0f}));
}

TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_EQ(find_invalid_utf8("plain ascii text, longer than eight bytes"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("abc\xC3"), 3u);              // cut sequence
  EXPECT_EQ(find_invalid_utf8("abcdefghij\x80"), 10u);      // lone continuation byte
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);             // overlong
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);         // surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);     // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xE2\x82"), 2u);
  EXPECT_EQ(find_invalid_utf8("latin-1 \xE9t\xE9"), 8u);
}

}  // namespace
}  // namespace heed
