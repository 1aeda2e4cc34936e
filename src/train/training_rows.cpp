#include "train/training_rows.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "data/row_stream.h"

namespace heed {
namespace {

class InMemoryRows : public TrainingRows {
 public:
  InMemoryRows(const Dataset& train, const Config& config, const BatchDraw& draw)
      : train_(train), seed_(draw.seed), shuffle_(config.train.shuffle), batch_size_(draw.batch_size),
        order_(train.rows) {}

  void start_epoch(std::int64_t epoch) override {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    Rng rng(mix64(seed_ ^ mix64(static_cast<std::uint64_t>(epoch))));
    if (shuffle_)
      for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);
    position_ = 0;
  }
  bool next(BatchRows& batch) override {
    if (position_ >= order_.size() || batch_size_ == 0) return false;
    const std::size_t n = std::min(batch_size_, order_.size() - position_);
    batch = BatchRows{&train_, std::span<const std::size_t>(order_.data() + position_, n)};
    position_ += n;
    return true;
  }
  std::size_t rows_per_epoch() const override { return train_.rows; }

 private:
  const Dataset& train_;
  std::uint64_t seed_;
  bool shuffle_;
  std::size_t batch_size_;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
};

class StreamedRows : public TrainingRows {
 public:
  StreamedRows(std::vector<std::filesystem::path> files, const Config& config, const Schema& schema,
               std::function<bool(std::uint64_t)> held_out, BadRowLog& log, bool already_reported,
               const BatchDraw& draw, const ReadShare& share)
      : files_(std::move(files)), config_(config), schema_(schema), held_out_(std::move(held_out)), log_(log),
        reported_(already_reported), seed_(draw.seed), share_(share), batch_size_(draw.batch_size),
        buffer_rows_(std::max<std::size_t>(static_cast<std::size_t>(config.data.shuffle_buffer), 2)) {}

  void start_epoch(std::int64_t epoch) override {
    stream_.reset();
    // Later epochs read the same rows: their bad rows are counted in a log of their own.
    epoch_log_ = std::make_unique<BadRowLog>(BadRowLog::in_memory(config_.data));
    StreamOptions options;
    options.parser_threads = static_cast<int>(config_.data.parser_threads);
    options.write_rejects = !reported_;
    options.share = share_;
    stream_ = std::make_unique<RowStream>(files_, config_, schema_, options, reported_ ? *epoch_log_ : log_);
    rng_ = Rng(mix64(seed_ ^ mix64(static_cast<std::uint64_t>(epoch))));
    buffer_ = Dataset();
    emit_.clear();
    position_ = 0;
    ended_ = false;
    counted_ = 0;
  }

  bool next(BatchRows& batch) override {
    if (batch_size_ == 0) return false;
    while (position_ >= emit_.size()) {
      if (ended_) {
        finish_epoch();
        return false;
      }
      refill();
    }
    const std::size_t n = std::min(batch_size_, emit_.size() - position_);
    batch = BatchRows{&buffer_, std::span<const std::size_t>(emit_.data() + position_, n)};
    position_ += n;
    return true;
  }

  std::size_t rows_per_epoch() const override { return rows_per_epoch_; }

 private:
  // Keeps the rows not yet trained on, reads until the buffer is full, and picks the next ones.
  void refill() {
    Dataset next = buffer_.select(keep_);
    keep_.clear();
    Dataset chunk;
    std::vector<std::size_t> selected;
    while (next.rows < buffer_rows_) {
      if (!stream_->next(chunk)) {
        ended_ = true;
        break;
      }
      selected.clear();
      for (std::size_t r = 0; r < chunk.rows; ++r)
        if (!held_out_ || !held_out_(chunk.split_keys[r])) selected.push_back(r);
      counted_ += selected.size();
      chunk.slices.clear();  // training never reads slices
      chunk.slice_names.clear();
      next.append(chunk, &selected);
    }
    buffer_ = std::move(next);
    std::vector<std::size_t> order(buffer_.rows);
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (config_.train.shuffle)
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.below(i)]);
    // Train on whole batches from half the buffer, keep the rest; at the end, train on all.
    std::size_t emit = order.size();
    if (!ended_) emit = std::max(batch_size_, (order.size() / 2) / batch_size_ * batch_size_);
    emit = std::min(emit, order.size());
    emit_.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(emit));
    keep_.assign(order.begin() + static_cast<std::ptrdiff_t>(emit), order.end());
    std::sort(keep_.begin(), keep_.end());  // kept rows stay in file order in the next buffer
    position_ = 0;
  }

  void finish_epoch() {
    stream_.reset();
    rows_per_epoch_ = counted_;
    if (!reported_) {
      if (log_.skipped() > 0) std::fprintf(stderr, "heed: training files: %s\n", log_.summary().c_str());
      log_.check_fraction();
      reported_ = true;
    }
  }

  const std::vector<std::filesystem::path> files_;
  const Config& config_;
  const Schema& schema_;
  const std::function<bool(std::uint64_t)> held_out_;
  BadRowLog& log_;
  bool reported_;
  const std::uint64_t seed_;
  const ReadShare share_;
  const std::size_t batch_size_, buffer_rows_;
  std::unique_ptr<BadRowLog> epoch_log_;
  std::unique_ptr<RowStream> stream_;
  Rng rng_;
  Dataset buffer_;
  std::vector<std::size_t> emit_, keep_;
  std::size_t position_ = 0;
  bool ended_ = false;
  std::size_t counted_ = 0, rows_per_epoch_ = 0;
};

}  // namespace

BatchDraw batch_draw(const Config& config, const ReadShare& share) {
  const auto batch = static_cast<std::size_t>(config.train.batch_size);
  if (share.whole()) return {batch, config.train.seed};
  const auto part = static_cast<std::size_t>(share.part), parts = static_cast<std::size_t>(share.parts);
  return {batch * (part + 1) / parts - batch * part / parts,
          mix64(config.train.seed ^ mix64(0x5ca1ab1eULL + static_cast<std::uint64_t>(share.part)))};
}

std::unique_ptr<TrainingRows> in_memory_rows(const Dataset& train, const Config& config, const BatchDraw& draw) {
  return std::make_unique<InMemoryRows>(train, config, draw);
}

std::unique_ptr<TrainingRows> streamed_rows(std::vector<std::filesystem::path> files, const Config& config,
                                            const Schema& schema, std::function<bool(std::uint64_t)> held_out,
                                            BadRowLog& log, bool already_reported, const BatchDraw& draw,
                                            const ReadShare& share) {
  return std::make_unique<StreamedRows>(std::move(files), config, schema, std::move(held_out), log, already_reported,
                                        draw, share);
}

bool should_stream(const DataConfig& data, const std::vector<std::filesystem::path>& files) {
  if (data.stream != StreamMode::kAuto) return data.stream == StreamMode::kOn;
  std::uintmax_t bytes = 0;
  for (const auto& f : files) {
    std::error_code ignored;
    const auto size = std::filesystem::file_size(f, ignored);
    if (!ignored) bytes += size;
  }
  return bytes >= (std::uintmax_t{1} << 30);
}

}  // namespace heed
