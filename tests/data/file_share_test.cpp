// Several readers sharing a split's files (data/file_share.h), as the ranks of a distributed run
// do: for every number of parts, every row is read by exactly one part, the parts in order hold
// the rows of one whole read in file order with the same line numbers, a compressed file goes
// whole to one part, and a bad row is reported by the part that reads it, at its line in the file.
#include "data/file_share.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "../support/compressed_text.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_bytes.h"
#include "data/dataset_loader.h"
#include "data/row_stream.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

// Rows of varied length, so the cuts land anywhere in a line.
std::string rows_text(int rows, int salt) {
  std::string text = "label\titem\ttags\n";
  for (int r = 0; r < rows; ++r)
    text += fmt::format("{}\ti{}\t{}\n", (r + salt) % 2, r * 7 + salt, std::string(static_cast<std::size_t>((r * 13 + salt) % 40), 'x'));
  return text;
}

Config tsv_config(const std::vector<std::string>& overrides = {}) {
  return parse_config("[features.item]\n[features.tags]\n", "t.toml", overrides);
}

Dataset load_part(const std::vector<std::filesystem::path>& files, const Config& config, int part, int parts) {
  LoadOptions options;
  options.share = ReadShare{part, parts};
  options.rejects_name = fmt::format("rejected.{}.txt", part);
  return load_dataset(files, config, Schema::from_config(config), options);
}

// The parts' rows appended in part order.
Dataset load_in_parts(const std::vector<std::filesystem::path>& files, const Config& config, int parts) {
  Dataset all;
  for (int p = 0; p < parts; ++p) all.append(load_part(files, config, p, parts));
  return all;
}

void expect_same_rows(const Dataset& got, const Dataset& want) {
  ASSERT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.labels, want.labels);
  EXPECT_EQ(got.keys[0].keys, want.keys[0].keys);
  EXPECT_EQ(got.keys[1].offsets, want.keys[1].offsets);
  EXPECT_EQ(got.source_lines, want.source_lines);
  for (std::size_t r = 0; r < want.rows; ++r) ASSERT_EQ(got.source_of(r), want.source_of(r));
}

TEST(FileShare, ThePartsReadEveryRowOnceInFileOrder) {
  TempDir dir("file_share");
  const std::vector<std::filesystem::path> files{dir / "a.tsv", dir / "b.tsv", dir / "empty.tsv", dir / "c.tsv"};
  write_file(files[0], rows_text(200, 1));
  write_file(files[1], rows_text(3, 2));
  write_file(files[2], "label\titem\ttags\n");
  write_file(files[3], rows_text(97, 3));
  const Config config = tsv_config();
  const Dataset whole = load_dataset(files, config, Schema::from_config(config));
  ASSERT_EQ(whole.rows, 300u);
  for (int parts : {1, 2, 3, 4, 7, 64, 500}) {
    SCOPED_TRACE(fmt::format("{} parts", parts));
    expect_same_rows(load_in_parts(files, config, parts), whole);
  }
  // The parts are about even: at 3 parts of 300 rows of similar length, none holds half.
  for (int p = 0; p < 3; ++p) {
    const std::size_t rows = load_part(files, config, p, 3).rows;
    EXPECT_GT(rows, 60u);
    EXPECT_LT(rows, 150u);
  }
}

TEST(FileShare, QuotedRecordsSpanningLinesStayWhole) {
  TempDir dir("file_share");
  std::string text = "label,item,tags\n";
  for (int r = 0; r < 120; ++r)
    text += r % 5 == 0 ? fmt::format("1,i{},\"two\nlines, {}\"\n", r, r) : fmt::format("0,i{},t{}\n", r, r);
  write_file(dir / "rows.csv", text);
  const Config config = tsv_config({"data.format=csv"});
  const Dataset whole = load_dataset(dir / "rows.csv", config, Schema::from_config(config));
  ASSERT_EQ(whole.rows, 120u);
  for (int parts : {2, 3, 5, 11}) {
    SCOPED_TRACE(fmt::format("{} parts", parts));
    expect_same_rows(load_in_parts({dir / "rows.csv"}, config, parts), whole);
  }
}

TEST(FileShare, ACompressedFileGoesWholeToOnePart) {
  TempDir dir("file_share");
  const std::vector<std::filesystem::path> files{dir / "a.tsv.gz", dir / "b.tsv"};
  write_file(files[0], testing::gzip(rows_text(50, 1)));
  write_file(files[1], rows_text(400, 2));
  const Config config = tsv_config();
  const Dataset whole = load_dataset(files, config, Schema::from_config(config));
  const std::vector<ByteRange> first = ranges_of(files, ReadShare{0, 2}), second = ranges_of(files, ReadShare{1, 2});
  EXPECT_FALSE(first[0].empty());
  EXPECT_TRUE(second[0].empty());
  EXPECT_EQ(first[0].begin, 0u);
  EXPECT_EQ(first[0].end, ByteRange{}.end);
  for (int parts : {2, 3}) expect_same_rows(load_in_parts(files, config, parts), whole);
  EXPECT_EQ(load_part(files, config, 0, 2).rows + load_part(files, config, 1, 2).rows, 450u);
}

TEST(FileShare, ABadRowIsThePartsThatReadsItAtItsLineInTheFile) {
  TempDir dir("file_share");
  std::string text = rows_text(300, 0);
  // Line 251 (row 250) gets a label that is not a number.
  std::size_t at = 0;
  for (int line = 1; line < 251; ++line) at = text.find('\n', at) + 1;
  text.replace(at, 1, "yes");
  write_file(dir / "rows.tsv", text);
  const Config config = tsv_config();
  const Dataset whole_before = load_part({dir / "rows.tsv"}, config, 0, 3);  // the first part does not reach it
  EXPECT_GT(whole_before.rows, 0u);
  const std::string message = HEED_ERROR_MESSAGE(load_part({dir / "rows.tsv"}, config, 2, 3), ParseError);
  EXPECT_THAT(message, HasSubstr("rows.tsv:251"));
  // Skipped and counted: by that part alone, in its own rejected-rows file.
  const Config skip = tsv_config({"data.on_error=skip", "data.max_skip_fraction=0.5"});
  std::uint64_t skipped = 0;
  for (int p = 0; p < 3; ++p) {
    LoadReport report;
    LoadOptions options;
    options.share = ReadShare{p, 3};
    options.rejects_dir = dir.path();
    options.rejects_name = fmt::format("rejected.{}.txt", p);
    options.report = &report;
    load_dataset(dir / "rows.tsv", skip, Schema::from_config(skip), options);
    skipped += report.skipped;
    EXPECT_EQ(std::filesystem::exists(dir / options.rejects_name), report.skipped > 0);
  }
  EXPECT_EQ(skipped, 1u);
}

TEST(FileShare, AStreamReadsThePartALoadReads) {
  TempDir dir("file_share");
  const std::vector<std::filesystem::path> files{dir / "a.tsv", dir / "b.tsv"};
  write_file(files[0], rows_text(500, 1));
  write_file(files[1], rows_text(300, 2));
  const Config config = tsv_config();
  const Schema schema = Schema::from_config(config);
  for (int p = 0; p < 3; ++p) {
    BadRowLog log(config.data, dir / "rejected.txt");
    StreamOptions options;
    options.chunk_lines = 64;
    options.parser_threads = 2;
    options.share = ReadShare{p, 3};
    RowStream stream(files, config, schema, options, log);
    Dataset streamed, chunk;
    while (stream.next(chunk)) streamed.append(chunk);
    expect_same_rows(streamed, load_part(files, config, p, 3));
  }
}

TEST(DatasetBytes, RowsCrossAsBytesUnchanged) {
  TempDir dir("file_share");
  write_file(dir / "rows.tsv", rows_text(40, 5));
  const Config config = parse_config("[features.item]\n[features.tags]\nkind = \"multi\"\n[features.price]\nkind = \"numeric\"\n"
                                     "[eval]\nslice = \"item\"\n",
                                     "t.toml");
  write_file(dir / "priced.tsv", "label\titem\ttags\tprice\n1\ta\tx|y\t2.5\n0\tb\t\t\n1\ta\tz\t-1\n");
  const Dataset data = load_dataset(dir / "priced.tsv", config, Schema::from_config(config));
  const Dataset back = dataset_from_bytes(dataset_to_bytes(data));
  EXPECT_EQ(back.rows, 3u);
  EXPECT_EQ(back.labels, data.labels);
  EXPECT_EQ(back.keys[1].offsets, data.keys[1].offsets);
  EXPECT_EQ(back.keys[1].keys, data.keys[1].keys);
  ASSERT_EQ(back.dense.size(), data.dense.size());
  EXPECT_EQ(back.dense[0][0], 2.5f);
  EXPECT_NE(back.dense[0][1], back.dense[0][1]);  // missing stays NaN
  EXPECT_EQ(back.slices, data.slices);
  EXPECT_EQ(back.slice_names, data.slice_names);
  EXPECT_EQ(back.source_of(2), data.source_of(2));
  // Cut short or with bytes past the end: an error, never rows made up.
  const std::string bytes = dataset_to_bytes(data);
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(dataset_from_bytes(std::string_view(bytes).substr(0, cut)), Error) << cut;
  EXPECT_THROW(dataset_from_bytes(bytes + "x"), Error);
}

}  // namespace
}  // namespace heed
