#pragma once
// The train / validation / test datasets of a run, read from the configured files (each a name
// or a glob pattern: file_patterns.h). Without a validation file, data.valid_fraction of the
// training rows is held out by a stable hash (of the data.valid_by column, or of the whole
// line), so the same rows are held out every run; or, with data.valid_by_time, the latest rows.
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/bad_rows.h"
#include "data/dataset.h"
#include "distributed/communicator.h"

namespace heed {

struct LoadOptions;

struct Splits {
  Dataset train, valid, test;     // train stays empty when streamed
  std::string valid_source;  // a file name, or how valid was carved; empty: no validation
  bool has_test = false;
  // Streamed training (data.stream): the files, the training split's bad-row log, whether a
  // pass already reported its bad rows, and which rows the validation carve holds out.
  bool streamed = false;
  std::vector<std::filesystem::path> train_files;
  std::unique_ptr<BadRowLog> train_log;
  bool train_reported = false;
  std::function<bool(std::uint64_t)> held_out;
};

// The hash carve: whether a row with this split key is among the `fraction` held out.
bool held_out_by_hash(std::uint64_t split_key, double fraction);

// A time split: the rows at or after the cut time (the earliest timestamp among the latest
// `fraction` of rows) are held out; `keep` and `hold` are row indices in file order.
struct TimeCarve {
  std::vector<std::size_t> keep, hold;
  double cut_time = 0;
};
TimeCarve carve_latest(std::span<const double> times, double fraction);

// Reads one split's rows ("train", "valid" or "test") from somewhere other than its files: a
// table in memory (the Python module's DataFrames).
using SplitReader = std::function<Dataset(const std::string& split, const Config& config, const Schema& schema,
                                          const LoadOptions& options)>;

std::filesystem::path data_file(const Config& config, const std::string& name);

// `rejects_dir`: where rejected_<split>.txt go under data.on_error = "skip" (data.rejects_dir wins).
// `stream_train`: leave the training rows in their files (the validation carve still reads them once).
// `reader`: where the splits' rows come from instead of data.train/valid/test's files (which then
// only say which splits there are); never with `stream_train`.
// `peers`: the ranks of a distributed run, each calling this (it is collective). Each reads its
// part of the training files (file_share.h; training rows, or with stream_train the held-out ones)
// and carves its own validation rows from them; rank 0 alone reads the validation and test files
// and receives every rank's carved rows, so its `valid` is one process's. The other ranks' `valid`
// and `test` stay empty.
Splits load_splits(const Config& config, const Schema& schema, const std::filesystem::path& rejects_dir = {},
                   bool stream_train = false, const SplitReader& reader = {}, Communicator* peers = nullptr);

// The pieces load_splits uses on several ranks (collective): the time carve with its cut found
// among every rank's times (the rows of each rank at or after it are held out); and `mine` of
// every rank on rank 0, in rank order (empty elsewhere).
TimeCarve carve_latest_over_ranks(std::span<const double> times, double fraction, Communicator& peers);
Dataset gather_to_first_rank(const Dataset& mine, Communicator& peers);

}  // namespace heed
