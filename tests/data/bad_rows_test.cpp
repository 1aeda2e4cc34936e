// Every kind of bad input under both data.on_error policies: fail stops with a ParseError naming
// file, line, byte offset and column; skip keeps the good rows, counts the bad one under its
// reason, writes it to the rejected-lines file, and still stops past data.max_skip_fraction.
#include "data/bad_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/compressed_text.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "data/dataset_loader.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::gzip;
using testing::TempDir;
using testing::write_file;
using testing::zstd;

const char* const kConfig =
    "[data]\nmax_line_bytes = 200\nmax_field_bytes = 50\n"
    "[features.item]\n[features.tags]\nkind = \"multi\"\n[features.price]\nkind = \"numeric\"\n";
const std::string kHeader = "label\titem\ttags\tprice\n";
const std::string kGood1 = "1\ta\tx|y\t2.5\n";
const std::string kGood2 = "0\tb\t\t\n";

// Rows whose compressed form is many kilobytes, so a cut lands inside the data.
std::string many_rows(int n) {
  std::string text = kHeader;
  std::uint64_t x = 99;
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    text += fmt::format("{}\ti{}\tt{}|u{}\t{}\n", i % 2, x % 100000, x % 7, x % 11, x % 1000);
  }
  return text;
}

struct BadCase {
  std::string name;
  std::string bytes;   // the whole file
  std::string file;    // its name
  std::string reason;
  std::string where;   // expected in the message: "file:line" and the column
  std::string detail;  // expected in the message: what was wrong
  std::size_t good_rows = 2;
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> cases;
  auto row_between = [](const std::string& bad) { return kHeader + kGood1 + bad + kGood2; };
  cases.push_back({"column_count", row_between("1\tc\tz\n"), "rows.tsv", "column_count", "rows.tsv:3",
                   "expected 4 columns, found 3"});
  cases.push_back({"label_text", row_between("yes\tc\tz\t1\n"), "rows.tsv", "label", "rows.tsv:3: column 1 (label)",
                   "found 'yes'"});
  cases.push_back({"label_range", row_between("2\tc\tz\t1\n"), "rows.tsv", "label", "rows.tsv:3: column 1 (label)",
                   "label must be 0 or 1, found '2'"});
  cases.push_back({"numeric", row_between("1\tc\tz\tcheap\n"), "rows.tsv", "numeric",
                   "rows.tsv:3: column 4 (price)", "'cheap'"});
  // Past float's range (the model's dense inputs are floats): an error, never a NaN score.
  cases.push_back({"numeric_overflow", row_between("1\tc\tz\t1e308\n"), "rows.tsv", "numeric",
                   "rows.tsv:3: column 4 (price)", "within +-3.40282e+38"});
  cases.push_back({"numeric_infinite", row_between("1\tc\tz\t-inf\n"), "rows.tsv", "numeric",
                   "rows.tsv:3: column 4 (price)", "'-inf'"});
  cases.push_back({"utf8", row_between("1\tc\tz\xC3\x28w\t1\n"), "rows.tsv", "utf8", "rows.tsv:3: column 3 (tags)",
                   "not UTF-8 text"});
  // Rows long enough for the block searches (32 and 16 bytes at a time), valid non-ASCII text
  // before the problem: still found in the right column.
  {
    const std::string item(45, 'c');
    cases.push_back({"numeric_in_a_long_row", row_between("1\t" + item + "\tz|\xC3\xA9|" + std::string(30, 'y') + "\t12abc\n"),
                     "rows.tsv", "numeric", "rows.tsv:3: column 4 (price)", "'12abc'"});
    cases.push_back({"utf8_in_a_long_row",
                     row_between("1\t" + item + "\tz|\xC3\xA9|" + std::string(30, 'y') + "\xC3\x28\t1\n"), "rows.tsv",
                     "utf8", "rows.tsv:3: column 3 (tags)", "not UTF-8 text"});
    cases.push_back({"nul_in_a_long_row", row_between("1\t" + item + "\tz" + std::string(1, '\0') + "w\t1\n"),
                     "rows.tsv", "utf8", "rows.tsv:3: column 3 (tags)", "a NUL byte"});
  }
  cases.push_back({"long_line", row_between("1\tc\t" + std::string(300, 'q') + "\t1\n"), "rows.tsv", "long_line",
                   "rows.tsv:3", "line of 306 bytes is longer than data.max_line_bytes = 200"});
  cases.push_back({"long_field", row_between("1\t" + std::string(60, 'w') + "\tz\t1\n"), "rows.tsv", "long_field",
                   "rows.tsv:3: column 2 (item)", "field of 60 bytes is longer than data.max_field_bytes = 50"});
  // The last line is cut: without its newline and with too few columns.
  cases.push_back({"cut_line", kHeader + kGood1 + kGood2 + "1\tc\tz", "rows.tsv", "cut_line", "rows.tsv:4",
                   "the file ends inside this line"});
  {
    const std::string packed = gzip(many_rows(20000));
    cases.push_back({"truncated_gzip", packed.substr(0, packed.size() / 2), "rows.tsv.gz", "truncated_file",
                     "rows.tsv.gz:", "truncated", 0});
  }
  {
    const std::string packed = zstd(many_rows(20000));
    cases.push_back({"truncated_zstd", packed.substr(0, packed.size() / 2), "rows.tsv.zst", "truncated_file",
                     "rows.tsv.zst:", "truncated", 0});
  }
  return cases;
}

Config config_with(const std::string& policy, double max_fraction = 0.5) {
  return parse_config(kConfig, "t.toml",
                      {"data.on_error=" + policy, "data.max_skip_fraction=" + std::to_string(max_fraction)});
}

TEST(BadRows, FailStopsWithTheLocation) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    TempDir dir("bad_rows");
    write_file(dir / c.file, c.bytes);
    const Config config = config_with("fail");
    const Schema schema = Schema::from_config(config);
    try {
      load_dataset(dir / c.file, config, schema);
      ADD_FAILURE() << "no error";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.reason(), c.reason);
      EXPECT_THAT(e.what(), HasSubstr(c.where));
      EXPECT_THAT(e.what(), HasSubstr(c.detail));
      EXPECT_GT(e.where().line, 1u);
    }
    EXPECT_FALSE(std::filesystem::exists("rejected_rows.txt"));
  }
}

TEST(BadRows, SkipKeepsGoodRowsCountsAndWritesTheRejectedLine) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    TempDir dir("bad_rows");
    write_file(dir / c.file, c.bytes);
    const Config config = config_with("skip");
    const Schema schema = Schema::from_config(config);
    LoadReport report;
    LoadOptions options;
    options.rejects_dir = dir.path();
    options.report = &report;
    const Dataset data = load_dataset(dir / c.file, config, schema, options);
    EXPECT_EQ(report.skipped, 1u);
    EXPECT_EQ(report.by_reason, (std::map<std::string, std::uint64_t>{{c.reason, 1}}));
    EXPECT_EQ(data.rows, report.rows - 1);
    if (c.good_rows > 0) {
      ASSERT_EQ(data.rows, c.good_rows);
      // The bad row left nothing behind: the rows after it are intact.
      EXPECT_EQ(data.labels, (std::vector<float>{1.0f, 0.0f}));
      const KeyColumn& item = data.keys[0];
      EXPECT_EQ(item.keys, (std::vector<std::uint64_t>{hash_value("a", schema.tables[0].seed),
                                                       hash_value("b", schema.tables[0].seed)}));
      EXPECT_EQ(data.keys[1].offsets, (std::vector<std::uint64_t>{0, 2, 2}));
      EXPECT_EQ(data.dense[0].size(), 2u);
    } else {
      EXPECT_GT(data.rows, 1000u);  // the rows before the cut
    }
    const std::string rejected = testing::read_file(dir / "rejected_rows.txt");
    EXPECT_THAT(rejected, HasSubstr("# " + (dir / c.file).string() + ":"));
    EXPECT_THAT(rejected, HasSubstr("[" + c.reason + "]"));
    EXPECT_THAT(rejected, HasSubstr(c.detail));
  }
}

TEST(BadRows, SkipWritesTheRejectedLineAsItWas) {
  TempDir dir("bad_rows");
  const std::string bad = "maybe\tc\tz\t1";
  write_file(dir / "rows.tsv", kHeader + kGood1 + bad + "\n" + kGood2);
  const Config config = config_with("skip");
  LoadOptions options;
  options.rejects_dir = dir.path();
  load_dataset(dir / "rows.tsv", config, Schema::from_config(config), options);
  const std::string rejected = testing::read_file(dir / "rejected_rows.txt");
  const auto lines = rejected.substr(rejected.find('\n') + 1);
  EXPECT_EQ(lines, bad + "\n");
  // The byte offset of the bad line: after the header and the first row.
  EXPECT_THAT(rejected, HasSubstr(fmt::format("rows.tsv:3 (byte {})", kHeader.size() + kGood1.size())));
}

TEST(BadRows, SkipStopsPastTheAllowedFraction) {
  TempDir dir("bad_rows");
  // 2 bad rows of 4: 50% > 40%.
  write_file(dir / "rows.tsv", kHeader + kGood1 + "x\ta\tb\t1\n" + kGood2 + "y\ta\tb\t1\n");
  LoadOptions options;
  options.rejects_dir = dir.path();
  Config config = config_with("skip", 0.4);
  const std::string message =
      HEED_ERROR_MESSAGE(load_dataset(dir / "rows.tsv", config, Schema::from_config(config), options), Error);
  EXPECT_THAT(message, HasSubstr("too many bad rows: skipped 2 of 4 rows (label: 2)"));
  EXPECT_THAT(message, HasSubstr("data.max_skip_fraction = 40%"));
  EXPECT_THAT(message, HasSubstr("rows.tsv:3: column 1 (label)"));  // the first problem
  // Both rejected lines are in the file even so.
  const std::string rejected = testing::read_file(dir / "rejected_rows.txt");
  EXPECT_THAT(rejected, HasSubstr("x\ta\tb\t1\n"));
  EXPECT_THAT(rejected, HasSubstr("y\ta\tb\t1\n"));
  // At 50% allowed it reads.
  config = config_with("skip", 0.5);
  EXPECT_EQ(load_dataset(dir / "rows.tsv", config, Schema::from_config(config), options).rows, 2u);
}

TEST(BadRows, SkipStopsEarlyOnALongRunOfBadRows) {
  // Past the first 1000 rows the share is checked at every bad row, so a file that turns bad
  // stops without being read to the end.
  TempDir dir("bad_rows");
  std::string text = kHeader;
  for (int i = 0; i < 1000; ++i) text += kGood1;
  for (int i = 0; i < 100; ++i) text += "bad\ta\tb\t1\n";
  for (int i = 0; i < 5000; ++i) text += "1\ta\tb\tnot-a-number\n";
  write_file(dir / "rows.tsv", text);
  LoadOptions options;
  options.rejects_dir = dir.path();
  const Config config = config_with("skip", 0.05);
  const std::string message =
      HEED_ERROR_MESSAGE(load_dataset(dir / "rows.tsv", config, Schema::from_config(config), options), Error);
  EXPECT_THAT(message, HasSubstr("too many bad rows: skipped 53 of 1053 rows (label: 53)"));
}

TEST(BadRows, LabelMappingAcceptsMinusOneAndOne) {
  TempDir dir("bad_rows");
  write_file(dir / "rows.tsv", "label\titem\n-1\ta\n1\tb\n0\tc\n");
  const Config config = parse_config("[data]\nlabel_values = [-1, 1]\n[features.item]\n", "t.toml");
  const Schema schema = Schema::from_config(config);
  const std::string message = HEED_ERROR_MESSAGE(load_dataset(dir / "rows.tsv", config, schema), ParseError);
  EXPECT_THAT(message, HasSubstr("rows.tsv:4: column 1 (label): label must be -1 or 1, found '0'"));
  write_file(dir / "rows.tsv", "label\titem\n-1\ta\n1\tb\n");
  EXPECT_EQ(load_dataset(dir / "rows.tsv", config, schema).labels, (std::vector<float>{0.0f, 1.0f}));
}

TEST(BadRows, NeverSkipOverridesThePolicy) {
  TempDir dir("bad_rows");
  write_file(dir / "rows.tsv", kHeader + kGood1 + "x\ta\tb\t1\n");
  const Config config = config_with("skip");
  LoadOptions options;
  options.never_skip = true;
  options.rejects_dir = dir.path();
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.tsv", config, Schema::from_config(config), options),
                                 ParseError),
              HasSubstr("rows.tsv:3"));
}

TEST(BadRows, HeaderProblemsAlwaysStop) {
  TempDir dir("bad_rows");
  write_file(dir / "rows.csv", "label,\"item\n1,a\n");
  const Config config = parse_config("[data]\nformat = \"csv\"\non_error = \"skip\"\n[features.item]\n", "t.toml");
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_dataset(dir / "rows.csv", config, Schema::from_config(config)), ParseError),
              HasSubstr("rows.csv:1: column 2: the header's quoted field opened on line 1 is not closed"));
}

}  // namespace
}  // namespace heed
