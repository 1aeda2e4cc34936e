#pragma once
// Where each epoch's batches of training rows come from:
//   in memory  the whole training Dataset, its row order shuffled every epoch (the default for
//              files that fit);
//   streamed   the training files read again every epoch (row_stream.h), parsed on their own
//              threads while the model trains, through a shuffle buffer of data.shuffle_buffer
//              rows: each round shuffles the buffer, trains on a random half (whole batches) and
//              keeps the other half to mix with the rows that come next. Memory is the buffer
//              plus a few chunks, whatever the file size. The order depends only on the seed,
//              the epoch and the data, not on any thread count.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "core/rng.h"
#include "data/bad_rows.h"
#include "data/dataset.h"
#include "data/file_share.h"

namespace heed {

struct BatchRows {
  const Dataset* data = nullptr;
  std::span<const std::size_t> rows;
};

class TrainingRows {
 public:
  virtual ~TrainingRows() = default;
  virtual void start_epoch(std::int64_t epoch) = 0;
  // The next batch of the epoch; false when the epoch is over.
  virtual bool next(BatchRows& batch) = 0;
  // Rows in an epoch; for a stream, 0 until the first epoch has counted them.
  virtual std::size_t rows_per_epoch() const = 0;
};

// How many rows a batch takes and the seed of the epochs' shuffles. One process: train.batch_size
// and train.seed. Rank r of N in a distributed run, which reads only its part of the files: its
// share of train.batch_size (rows [B·r/N, B·(r+1)/N) of a global batch of B, so the ranks' batches
// of a step add up to B) and a seed of its own.
struct BatchDraw {
  std::size_t batch_size = 0;
  std::uint64_t seed = 0;
};
BatchDraw batch_draw(const Config& config, const ReadShare& share = {});

std::unique_ptr<TrainingRows> in_memory_rows(const Dataset& train, const Config& config, const BatchDraw& draw);

// Streams `share`'s part of `files`; rows whose split key `held_out` accepts (the validation
// carve) are left out. Bad rows are reported on the first epoch into `log` (the training split's
// log) unless `already_reported` (a pass before training read them), and counted silently after.
std::unique_ptr<TrainingRows> streamed_rows(std::vector<std::filesystem::path> files, const Config& config,
                                            const Schema& schema, std::function<bool(std::uint64_t)> held_out,
                                            BadRowLog& log, bool already_reported, const BatchDraw& draw,
                                            const ReadShare& share = {});

// Whether data.stream asks for streaming these training files (auto: 1 GiB or more on disk).
bool should_stream(const DataConfig& data, const std::vector<std::filesystem::path>& files);

}  // namespace heed
