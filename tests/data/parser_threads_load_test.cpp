// load_dataset on several parser threads (data.parser_threads > 1): the chunks the streaming
// reader parses in parallel, put together in file order, are exactly the rows one thread reads,
// with the same bad rows, counts, rejected-lines file and error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "../support/compressed_text.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_loader.h"

namespace heed {
namespace {

using testing::TempDir;
using testing::write_file;

// Enough rows for several 8,192-line chunks; every 997th row has a bad label.
std::string rows_text(int rows, int salt, bool bad_rows) {
  std::string text = "label\titem\ttags\tprice\tregion\n";
  for (int r = 0; r < rows; ++r) {
    const bool bad = bad_rows && r % 997 == 5;
    text += fmt::format("{}\ti{}\t{}\t{}\t{}\n", bad ? "maybe" : std::to_string((r + salt) % 2), (r * 7 + salt) % 5003,
                        r % 3 == 0 ? "" : fmt::format("t{}|t{}", r % 11, r % 17), r % 10 == 0 ? "" : std::to_string(r % 101 * 0.5),
                        fmt::format("reg{}", (r + salt) % 7));
  }
  return text;
}

Config config_with(int threads, const std::string& on_error = "fail") {
  return parse_config(
      "[features.item]\n[features.tags]\nkind = \"multi\"\n[features.price]\nkind = \"numeric\"\n[eval]\nslice = \"region\"\n",
      "t.toml",
      {fmt::format("data.parser_threads={}", threads), "data.on_error=" + on_error, "data.max_skip_fraction=0.5"});
}

void expect_same(const Dataset& got, const Dataset& want) {
  ASSERT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.labels, want.labels);
  ASSERT_EQ(got.keys.size(), want.keys.size());
  for (std::size_t f = 0; f < want.keys.size(); ++f) {
    EXPECT_EQ(got.keys[f].offsets, want.keys[f].offsets) << f;
    EXPECT_EQ(got.keys[f].keys, want.keys[f].keys) << f;
  }
  ASSERT_EQ(got.dense.size(), want.dense.size());
  for (std::size_t d = 0; d < want.dense.size(); ++d) {
    ASSERT_EQ(got.dense[d].size(), want.dense[d].size());
    for (std::size_t r = 0; r < want.dense[d].size(); ++r) {
      const float a = got.dense[d][r], b = want.dense[d][r];
      ASSERT_TRUE(a == b || (a != a && b != b)) << d << " " << r;
    }
  }
  EXPECT_EQ(got.slices, want.slices);
  EXPECT_EQ(got.slice_names, want.slice_names);
  EXPECT_EQ(got.split_keys, want.split_keys);
  EXPECT_EQ(got.source_lines, want.source_lines);
  for (std::size_t r = 0; r < want.rows; r += 1013) EXPECT_EQ(got.source_of(r), want.source_of(r));
}

Dataset load(const std::vector<std::filesystem::path>& files, const Config& config, LoadOptions options = {}) {
  return load_dataset(files, config, Schema::from_config(config), options);
}

TEST(ParserThreadsLoad, TheSameRowsAsOneThread) {
  TempDir dir("parser_threads");
  const std::vector<std::filesystem::path> files{dir / "a.tsv", dir / "b.tsv.gz", dir / "c.tsv"};
  write_file(files[0], rows_text(20000, 1, false));
  write_file(files[1], testing::gzip(rows_text(9000, 2, false)));
  write_file(files[2], rows_text(3, 3, false));
  const Dataset one = load(files, config_with(1));
  ASSERT_EQ(one.rows, 29003u);
  for (int threads : {2, 3}) {
    SCOPED_TRACE(fmt::format("{} parser threads", threads));
    expect_same(load(files, config_with(threads)), one);
    // Each part of a share too.
    for (int part = 0; part < 3; ++part) {
      LoadOptions options;
      options.share = ReadShare{part, 3};
      expect_same(load(files, config_with(threads), options), load(files, config_with(1), options));
    }
  }
}

TEST(ParserThreadsLoad, BadRowsAsOneThread) {
  TempDir dir("parser_threads");
  write_file(dir / "bad.tsv", rows_text(30000, 4, true));
  // Skipped: the same rows kept, the same count and the same rejected lines.
  LoadReport one_report, three_report;
  LoadOptions one_options, three_options;
  one_options.rejects_dir = three_options.rejects_dir = dir.path();
  one_options.rejects_name = "one.txt";
  three_options.rejects_name = "three.txt";
  one_options.report = &one_report;
  three_options.report = &three_report;
  const Dataset one = load({dir / "bad.tsv"}, config_with(1, "skip"), one_options);
  const Dataset three = load({dir / "bad.tsv"}, config_with(3, "skip"), three_options);
  expect_same(three, one);
  EXPECT_EQ(one_report.skipped, 31u);
  EXPECT_EQ(three_report.skipped, one_report.skipped);
  EXPECT_EQ(three_report.rows, one_report.rows);
  EXPECT_EQ(testing::read_file(dir / "three.txt"), testing::read_file(dir / "one.txt"));
  // Failing: the first bad row, named the same way.
  const std::string one_error = HEED_ERROR_MESSAGE(load({dir / "bad.tsv"}, config_with(1)), ParseError);
  EXPECT_THAT(one_error, ::testing::HasSubstr("bad.tsv:7:"));
  EXPECT_EQ(HEED_ERROR_MESSAGE(load({dir / "bad.tsv"}, config_with(3)), ParseError), one_error);
  // never_skip wins over data.on_error = "skip" on threads too.
  LoadOptions strict;
  strict.never_skip = true;
  EXPECT_EQ(HEED_ERROR_MESSAGE(load({dir / "bad.tsv"}, config_with(3, "skip"), strict), ParseError), one_error);
}

}  // namespace
}  // namespace heed
