// CSV records whose quoted cells hold line breaks, through the loader and the streaming reader:
// the cell keeps its line breaks (a CRLF reads as LF), rows keep their true line numbers, errors
// name the line a record starts on, and a quote left open neither swallows the file nor slips by.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/compressed_text.h"
#include "../support/streamed_rows.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "data/row_stream.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::gzip;
using testing::stream_all;
using testing::TempDir;
using testing::write_file;

// A CSV config with `data_keys` added to its [data] table.
Config csv_config(const std::string& data_keys = "") {
  return parse_config("[data]\nformat = \"csv\"\n" + data_keys + "[features.note]\n[features.item]\n", "t.toml");
}

// header; a row whose note spans 3 lines with escaped quotes; a plain row; a row with "" at a
// line's end; a plain last row. Physical lines: 1, 2-4, 5, 6-7, 8.
const char* const kRows =
    "label,note,item\n"
    "1,\"first line\nsays \"\"hi\"\"\nthird\",a\n"
    "0,plain,b\n"
    "1,\"ends \"\"\n\"\"quoted\"\"\",c\n"
    "0,last,d\n";

std::string with_crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::uint64_t key(const Schema& schema, const std::string& feature, std::string_view value) {
  const FeatureInfo& f = schema.features[static_cast<std::size_t>(schema.feature_index(feature))];
  return hash_value(value, schema.tables[static_cast<std::size_t>(f.table)].seed);
}

std::vector<std::uint64_t> keys(const Schema& schema, std::initializer_list<std::string_view> values,
                                const std::string& feature = "note") {
  std::vector<std::uint64_t> out;
  for (std::string_view v : values) out.push_back(key(schema, feature, v));
  return out;
}

ParseError load_error(const std::filesystem::path& path, const Config& config) {
  try {
    load_dataset(path, config, Schema::from_config(config));
  } catch (const ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no ParseError";
  return ParseError(SourceLocation{}, "", "");
}

TEST(CsvMultiline, CellsKeepTheirLineBreaksAndRowsTheirLines) {
  TempDir dir("csv_multiline");
  const Config config = csv_config();
  const Schema schema = Schema::from_config(config);
  const std::vector<std::uint64_t> notes =
      keys(schema, {"first line\nsays \"hi\"\nthird", "plain", "ends \"\n\"quoted\"", "last"});
  const std::string body = std::string(kRows).substr(std::string(kRows).find('\n') + 1);
  const Config headless = csv_config("header = false\ncolumns = [\"label\", \"note\", \"item\"]\n");
  struct Case {
    std::string name, bytes;
    const Config* config;
    std::uint64_t first_line;
  };
  for (const Case& c : std::vector<Case>{{"lf.csv", kRows, &config, 2},
                                         {"crlf.csv", with_crlf(kRows), &config, 2},
                                         {"lf.csv.gz", gzip(kRows), &config, 2},
                                         {"crlf.csv.gz", gzip(with_crlf(kRows)), &config, 2},
                                         {"headless.csv", body, &headless, 1},
                                         {"headless_crlf.csv", with_crlf(body), &headless, 1}}) {
    SCOPED_TRACE(c.name);
    write_file(dir / c.name, c.bytes);
    const Dataset data = load_dataset(dir / c.name, *c.config, schema);
    ASSERT_EQ(data.rows, 4u);
    EXPECT_EQ(data.labels, (std::vector<float>{1, 0, 1, 0}));
    EXPECT_EQ(data.keys[0].keys, notes);  // a CRLF inside the quotes reads as LF: the same keys
    EXPECT_EQ(data.keys[1].keys, keys(schema, {"a", "b", "c", "d"}, "item"));
    const std::uint64_t l = c.first_line;
    EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{l, l + 3, l + 4, l + 6}));

    // Streaming reads the same rows, whatever the chunking.
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{8192}}) {
      BadRowLog log(c.config->data, dir / "rejected.txt");
      const Dataset streamed = stream_all(dir / c.name, *c.config, schema, 2, chunk, log);
      EXPECT_EQ(streamed.keys[0].keys, data.keys[0].keys);
      EXPECT_EQ(streamed.source_lines, data.source_lines);
      EXPECT_EQ(streamed.split_keys, data.split_keys);
    }
  }
}

TEST(CsvMultiline, QuotedHeaderMaySpanLines) {
  TempDir dir("csv_multiline");
  write_file(dir / "rows.csv", "label,\"no\nte\",item\n1,x,y\n0,z,w\n");
  const Config config = parse_config("[data]\nformat = \"csv\"\n[features.note]\ncolumn = \"no\\nte\"\n", "t.toml");
  const Dataset data = load_dataset(dir / "rows.csv", config, Schema::from_config(config));
  ASSERT_EQ(data.rows, 2u);
  EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{3, 4}));
}

TEST(CsvMultilineErrors, AnErrorNamesTheLineTheRecordStartsOnAndItsColumn) {
  TempDir dir("csv_multiline");
  const Config config = csv_config();
  // A bad label in the multi-line record of lines 4-6.
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n0,y,b\nmaybe,\"one\ntwo\nthree\",c\n1,z,d\n");
  ParseError e = load_error(dir / "rows.csv", config);
  EXPECT_EQ(e.reason(), "label");
  EXPECT_EQ(e.where().line, 4u);
  EXPECT_EQ(e.where().column, 1u);
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:4: column 1 (label)"));
  EXPECT_THAT(e.what(), HasSubstr("(in the record of lines 4-6)"));
  // A bad row after a multi-line one: its own physical line.
  write_file(dir / "rows.csv", "label,note,item\n1,\"a\nb\nc\",a\nmaybe,y,b\n");
  e = load_error(dir / "rows.csv", config);
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:5: column 1 (label)"));
  // Too many columns in a multi-line record.
  write_file(dir / "rows.csv", "label,note,item\n1,\"a\nb\",a,extra\n");
  e = load_error(dir / "rows.csv", config);
  EXPECT_EQ(e.reason(), "column_count");
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:2: expected 3 columns, found 4 (in the record of lines 2-3)"));
  // Text after the closing quote of a multi-line cell: the record's start and the cell's column.
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n1,\"a\nb\"c,a\n");
  e = load_error(dir / "rows.csv", config);
  EXPECT_EQ(e.reason(), "quoting");
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:3: column 2 (note): unexpected text after a closing quote"));
}

TEST(CsvUnclosedQuote, FailNamesTheFileTheQuotesLineAndThatItIsNotClosed) {
  TempDir dir("csv_multiline");
  const Config config = csv_config();
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n0,\"stray,b\n1,y,c\n0,z,d\n");
  ParseError e = load_error(dir / "rows.csv", config);
  EXPECT_EQ(e.reason(), "quoting");
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:3: column 2 (note): the quoted field opened on line 3 is not closed by "
                                  "the end of the file"));
  // The quote opens on the second line of a record whose first cell spans lines.
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n\"1\n\",\"stray,b\n1,y,c\n");
  e = load_error(dir / "rows.csv", config);
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:3: column 2 (note): the quoted field opened on line 4 is not closed"));
}

TEST(CsvUnclosedQuote, SkipCountsItKeepsItsTextAndReadsTheRowsAfterIt) {
  TempDir dir("csv_multiline");
  const Config config = csv_config("on_error = \"skip\"\nmax_skip_fraction = 0.5\n");
  const Schema schema = Schema::from_config(config);
  const std::string text = "label,note,item\n1,x,a\n0,\"stray,b\n1,y,c\n0,z,d\n";
  write_file(dir / "rows.csv", text);
  write_file(dir / "rows.csv.gz", gzip(text));
  for (const std::string name : {"rows.csv", "rows.csv.gz"}) {
    SCOPED_TRACE(name);
    LoadReport report;
    LoadOptions options;
    options.rejects_dir = dir.path();
    options.report = &report;
    const Dataset data = load_dataset(dir / name, config, schema, options);
    EXPECT_EQ(report.rows, 4u);
    EXPECT_EQ(report.skipped, 1u);
    EXPECT_EQ(report.by_reason, (std::map<std::string, std::uint64_t>{{"quoting", 1}}));
    ASSERT_EQ(data.rows, 3u);
    EXPECT_EQ(data.keys[1].keys, keys(schema, {"a", "c", "d"}, "item"));
    EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{2, 4, 5}));
    const std::string rejected = testing::read_file(dir / "rejected_rows.txt");
    EXPECT_THAT(rejected, HasSubstr((dir / name).string() + ":3 (byte 22) [quoting]"));
    EXPECT_THAT(rejected, HasSubstr("\n0,\"stray,b\n"));

    // Streaming reports it the same way.
    BadRowLog log(config.data, dir / "streamed.txt");
    const Dataset streamed = stream_all(dir / name, config, schema, 2, 1, log);
    EXPECT_EQ(streamed.source_lines, data.source_lines);
    EXPECT_EQ(log.skipped(), 1u);
  }
}

TEST(CsvUnclosedQuote, ACellMayNotSpanPastTheRecordLimit) {
  TempDir dir("csv_multiline");
  std::string text = "label,note,item\n1,x,a\n0,\"long cell";
  for (int i = 0; i < 20; ++i) text += "\nmore text of the cell";
  text += "\",b\n1,y,c\n";
  write_file(dir / "rows.csv", text);
  const std::string limits = "max_line_bytes = 256\n";
  const Config fail = csv_config(limits);
  const ParseError e = load_error(dir / "rows.csv", fail);
  EXPECT_EQ(e.reason(), "quoting");
  EXPECT_THAT(e.what(), HasSubstr("rows.csv:3: column 2 (note): the quoted field opened on line 3 is not closed "
                                  "within data.max_line_bytes = 256 bytes of its record"));
  // Within a larger limit the same cell reads whole.
  const Config roomy = csv_config();
  const Dataset whole = load_dataset(dir / "rows.csv", roomy, Schema::from_config(roomy));
  ASSERT_EQ(whole.rows, 3u);
  EXPECT_EQ(whole.source_lines, (std::vector<std::uint64_t>{2, 3, 24}));

  // Skipping: the quote's line is rejected and reading goes on after it; the cell's other lines
  // then are rows of the wrong shape (one field, or two on the closing line), each counted.
  const Config skip = csv_config(limits + "on_error = \"skip\"\nmax_skip_fraction = 1\n");
  LoadReport report;
  LoadOptions options;
  options.rejects_dir = dir.path();
  options.report = &report;
  const Dataset data = load_dataset(dir / "rows.csv", skip, Schema::from_config(skip), options);
  EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{2, 24}));
  EXPECT_EQ(report.by_reason,
            (std::map<std::string, std::uint64_t>{{"quoting", 1}, {"column_count", 20}}));
}

TEST(CsvMultilineErrors, ARecordOverTheLimitIsALongLine) {
  TempDir dir("csv_multiline");
  const std::string record = std::string("0,\"") + std::string(100, 'x') + std::string("\n") + std::string(100, 'y') + "\",b";
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n" + record + "\n1,y,c\n");
  const Config config = csv_config("max_line_bytes = 150\non_error = \"skip\"\nmax_skip_fraction = 0.5\n");
  LoadReport report;
  LoadOptions options;
  options.rejects_dir = dir.path();
  options.report = &report;
  const Dataset data = load_dataset(dir / "rows.csv", config, Schema::from_config(config), options);
  EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{2, 5}));
  EXPECT_EQ(report.by_reason, (std::map<std::string, std::uint64_t>{{"long_line", 1}}));
  EXPECT_THAT(testing::read_file(dir / "rejected_rows.txt"),
              HasSubstr("record of 207 bytes is longer than data.max_line_bytes = 150 (in the record of lines 3-4)"));
}

TEST(CsvMultilineErrors, SkipWritesTheWholeRecordToTheRejectedFile) {
  TempDir dir("csv_multiline");
  const std::string bad = "maybe,\"one\ntwo \"\"2\"\"\nthree\",c";
  write_file(dir / "rows.csv", "label,note,item\n1,x,a\n" + bad + "\n0,z,d\n");
  const Config config = csv_config("on_error = \"skip\"\nmax_skip_fraction = 0.5\n");
  LoadOptions options;
  options.rejects_dir = dir.path();
  const Dataset data = load_dataset(dir / "rows.csv", config, Schema::from_config(config), options);
  EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{2, 6}));
  const std::string rejected = testing::read_file(dir / "rejected_rows.txt");
  EXPECT_THAT(rejected, HasSubstr("rows.csv:3 (byte 22) [label]"));
  EXPECT_EQ(rejected.substr(rejected.find('\n') + 1), bad + "\n");
}

TEST(CsvMultiline, TsvKeepsAStrayQuoteAsText) {
  TempDir dir("csv_multiline");
  write_file(dir / "rows.tsv", "label\tnote\titem\n1\t\"open\ta\n0\tb\"\tb\n");
  const Config config = parse_config("[features.note]\n[features.item]\n", "t.toml");
  const Schema schema = Schema::from_config(config);
  const Dataset data = load_dataset(dir / "rows.tsv", config, schema);
  ASSERT_EQ(data.rows, 2u);
  EXPECT_EQ(data.keys[0].keys, keys(schema, {"\"open", "b\""}));
  EXPECT_EQ(data.source_lines, (std::vector<std::uint64_t>{2, 3}));
}

}  // namespace
}  // namespace heed
