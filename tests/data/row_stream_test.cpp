// The streaming reader against the whole-file loader: the same rows in the same order for any
// chunk size and number of parsing threads, bad rows reported in file order under both
// policies, and the shuffle buffer handing out every row once per epoch.
#include "data/row_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "../support/streamed_rows.h"
#include "../support/synthetic_data.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "data/dataset_loader.h"
#include "train/training_rows.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::stream_all;
using testing::TempDir;
using testing::write_file;


void expect_same_rows(const Dataset& a, const Dataset& b) {
  ASSERT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.split_keys, b.split_keys);
  EXPECT_EQ(a.groups, b.groups);
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (std::size_t f = 0; f < a.keys.size(); ++f) {
    EXPECT_EQ(a.keys[f].keys, b.keys[f].keys) << "feature " << f;
    EXPECT_EQ(a.keys[f].offsets, b.keys[f].offsets) << "feature " << f;
  }
  ASSERT_EQ(a.dense.size(), b.dense.size());
  for (std::size_t d = 0; d < a.dense.size(); ++d)
    for (std::size_t r = 0; r < a.rows; ++r)
      EXPECT_TRUE(a.dense[d][r] == b.dense[d][r] || (a.dense[d][r] != a.dense[d][r] && b.dense[d][r] != b.dense[d][r]));
}

TEST(RowStream, SameRowsAsTheLoaderForAnyChunkingAndThreads) {
  TempDir dir("stream");
  const auto files = testing::write_synthetic_data(dir.path());
  const Config config = load_config(files.config);
  const Schema schema = Schema::from_config(config);
  const Dataset whole = load_dataset(files.train, config, schema);
  for (int threads : {1, 3})
    for (std::size_t chunk : {std::size_t{7}, std::size_t{1000}, std::size_t{8192}}) {
      SCOPED_TRACE(fmt::format("{} threads, {} lines a chunk", threads, chunk));
      BadRowLog log(config.data, dir / "rejected.txt");
      expect_same_rows(stream_all(files.train, config, schema, threads, chunk, log), whole);
      EXPECT_EQ(log.rows(), 3000u);
    }
}

std::string rows_with_bad_ones() {
  std::string text = "label\titem\n";
  for (int i = 0; i < 100; ++i) text += (i == 30 || i == 71 || i == 72) ? fmt::format("x{}\ti\n", i) : "1\ti\n";
  return text;
}

TEST(RowStream, FailStopsAtTheFirstBadRowInFileOrder) {
  TempDir dir("stream");
  write_file(dir / "rows.tsv", rows_with_bad_ones());
  const Config config = parse_config("[features.item]\n", "t.toml");
  const Schema schema = Schema::from_config(config);
  for (int threads : {1, 4}) {
    BadRowLog log(config.data, dir / "rejected.txt");
    EXPECT_THAT(HEED_ERROR_MESSAGE(stream_all(dir / "rows.tsv", config, schema, threads, 5, log), ParseError),
                HasSubstr("rows.tsv:32: column 1 (label)"));
  }
}

TEST(RowStream, SkipReportsLikeTheLoader) {
  TempDir dir("stream");
  write_file(dir / "rows.tsv", rows_with_bad_ones());
  const Config config = parse_config("[data]\non_error = \"skip\"\nmax_skip_fraction = 0.5\n[features.item]\n", "t.toml");
  const Schema schema = Schema::from_config(config);
  LoadOptions options;
  options.rejects_dir = dir.path();
  options.rejects_name = "loader.txt";
  const Dataset loaded = load_dataset(dir / "rows.tsv", config, schema, options);
  BadRowLog log(config.data, dir / "stream.txt");
  const Dataset streamed = stream_all(dir / "rows.tsv", config, schema, 4, 5, log);
  expect_same_rows(streamed, loaded);
  EXPECT_EQ(log.skipped(), 3u);
  EXPECT_EQ(log.rows(), 100u);
  EXPECT_EQ(testing::read_file(dir / "stream.txt"), testing::read_file(dir / "loader.txt"));
}

// Every training row's (label, first key of every feature) signature, in the order handed out.
std::vector<std::string> epoch_rows(TrainingRows& rows, std::int64_t epoch, std::size_t* largest_buffer = nullptr) {
  std::vector<std::string> seen;
  rows.start_epoch(epoch);
  BatchRows batch;
  while (rows.next(batch)) {
    if (largest_buffer) *largest_buffer = std::max(*largest_buffer, batch.data->rows);
    for (std::size_t r : batch.rows) {
      std::string s = fmt::format("{}", batch.data->labels[r]);
      for (const KeyColumn& c : batch.data->keys)
        if (c.offsets.size() > r + 1) s += fmt::format(",{}", c.count(r) ? c.keys[c.offsets[r]] : 0);
      s += fmt::format(",{}", batch.data->split_keys[r]);
      seen.push_back(s);
    }
  }
  return seen;
}

// Each file's rows are read with that file's own header and named by its own path, however
// many files follow one another (a file's columns were once told apart by their address, which
// the next file's could reuse once the first was freed: its rows then took the first file's
// header and name).
TEST(RowStream, EachFileKeepsItsOwnHeaderAndName) {
  TempDir dir("stream");
  std::vector<std::filesystem::path> files;
  for (int f = 0; f < 40; ++f) {
    files.push_back(dir / fmt::format("part-{:02}.tsv", f));
    std::string text = f % 2 == 0 ? "label\titem\n" : "item\tlabel\n";
    for (int r = 0; r < 3; ++r)
      text += f % 2 == 0 ? fmt::format("{}\tf{}r{}\n", r % 2, f, r) : fmt::format("f{}r{}\t{}\n", f, r, r % 2);
    write_file(files.back(), text);
  }
  const Config config = parse_config("[features.item]\n", "t.toml", {"data.parser_threads=2"});
  const Schema schema = Schema::from_config(config);
  const Dataset whole = load_dataset(files, parse_config("[features.item]\n", "t.toml"), schema);
  for (int round = 0; round < 5; ++round) {
    BadRowLog log(config.data, dir / "rejected.txt");
    StreamOptions options;
    options.chunk_lines = 2;
    options.parser_threads = 2;
    RowStream stream(files, config, schema, options, log);
    Dataset streamed, chunk;
    while (stream.next(chunk)) streamed.append(chunk);
    ASSERT_EQ(streamed.rows, 120u);
    EXPECT_EQ(streamed.labels, whole.labels);
    EXPECT_EQ(streamed.keys[0].keys, whole.keys[0].keys);
    for (std::size_t r = 0; r < whole.rows; ++r) ASSERT_EQ(streamed.source_of(r), whole.source_of(r)) << r;
  }
}

TEST(StreamedRows, EveryRowOncePerEpochShuffledAndBounded) {
  TempDir dir("stream");
  const auto files = testing::write_synthetic_data(dir.path());
  const Config config = load_config(files.config, {"data.shuffle_buffer=400", "data.parser_threads=2"});
  const Schema schema = Schema::from_config(config);
  const Dataset whole = load_dataset(files.train, config, schema);
  auto memory = in_memory_rows(whole, config, batch_draw(config));
  std::vector<std::string> expected = epoch_rows(*memory, 1);
  std::sort(expected.begin(), expected.end());

  BadRowLog log(config.data, dir / "rejected.txt");
  auto streamed = streamed_rows({files.train}, config, schema, nullptr, log, false, batch_draw(config));
  std::size_t largest = 0;
  const std::vector<std::string> first = epoch_rows(*streamed, 1, &largest);
  EXPECT_EQ(streamed->rows_per_epoch(), 3000u);
  std::vector<std::string> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected);  // each row exactly once
  EXPECT_LE(largest, 400u + 8192u);  // the buffer plus at most one chunk
  // Shuffled: not in file order, and another order the next epoch.
  std::vector<std::string> in_file_order = epoch_rows(*in_memory_rows(whole, load_config(files.config, {"train.shuffle=false"}), batch_draw(config)), 1);
  EXPECT_NE(first, in_file_order);
  const std::vector<std::string> second = epoch_rows(*streamed, 2);
  EXPECT_NE(first, second);
  // The same order for another number of parsing threads.
  const Config one_thread = load_config(files.config, {"data.shuffle_buffer=400", "data.parser_threads=1"});
  BadRowLog log1(one_thread.data, dir / "rejected1.txt");
  auto again = streamed_rows({files.train}, one_thread, schema, nullptr, log1, false, batch_draw(one_thread));
  EXPECT_EQ(epoch_rows(*again, 1), first);
  // The held-out rows never appear.
  auto carved = streamed_rows({files.train}, config, schema, [](std::uint64_t key) { return key % 4 == 0; }, log, true,
                              batch_draw(config));
  const std::vector<std::string> kept = epoch_rows(*carved, 1);
  EXPECT_EQ(carved->rows_per_epoch(), kept.size());
  EXPECT_LT(kept.size(), 3000u * 0.85);
  EXPECT_GT(kept.size(), 3000u * 0.65);
}

}  // namespace
}  // namespace heed
