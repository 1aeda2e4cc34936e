#include "train/data_splits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "data/dataset_bytes.h"
#include "data/dataset_loader.h"
#include "data/file_patterns.h"
#include "data/row_stream.h"

namespace heed {

TimeCarve carve_latest(std::span<const double> times, double fraction) {
  TimeCarve carve;
  if (times.empty()) return carve;
  std::vector<std::size_t> order(times.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
  // Rows sharing the cut's timestamp all go to validation, so no validation row is older than
  // a training row.
  auto held = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(times.size()) - 1e-9));
  held = std::min(held, times.size());
  if (held == 0) {
    carve.keep = order;
    std::sort(carve.keep.begin(), carve.keep.end());
    return carve;
  }
  carve.cut_time = times[order[times.size() - held]];
  for (std::size_t r = 0; r < times.size(); ++r) (times[r] >= carve.cut_time ? carve.hold : carve.keep).push_back(r);
  return carve;
}

TimeCarve carve_latest_over_ranks(std::span<const double> times, double fraction, Communicator& peers) {
  // Rank 0 finds the cut among every rank's times (in rank order), the ranks split their own rows by it.
  std::vector<std::string> to_each(static_cast<std::size_t>(peers.size()));
  to_each[0].assign(reinterpret_cast<const char*>(times.data()), times.size() * sizeof(double));
  const std::vector<std::string> received = peers.all_to_all(std::move(to_each));
  std::string cut;
  if (peers.leader()) {
    std::vector<double> all;
    for (const std::string& part : received) {
      const auto* begin = reinterpret_cast<const double*>(part.data());
      all.insert(all.end(), begin, begin + part.size() / sizeof(double));
    }
    const TimeCarve whole = carve_latest(all, fraction);
    const double held = whole.hold.empty() ? 0.0 : 1.0;
    cut.append(reinterpret_cast<const char*>(&held), sizeof held);
    cut.append(reinterpret_cast<const char*>(&whole.cut_time), sizeof whole.cut_time);
  }
  peers.broadcast(cut, 0);
  double held = 0;
  TimeCarve carve;
  std::memcpy(&held, cut.data(), sizeof held);
  std::memcpy(&carve.cut_time, cut.data() + sizeof held, sizeof carve.cut_time);
  for (std::size_t r = 0; r < times.size(); ++r)
    (held != 0 && times[r] >= carve.cut_time ? carve.hold : carve.keep).push_back(r);
  return carve;
}

Dataset gather_to_first_rank(const Dataset& mine, Communicator& peers) {
  std::vector<std::string> to_each(static_cast<std::size_t>(peers.size()));
  to_each[0] = dataset_to_bytes(mine);
  const std::vector<std::string> received = peers.all_to_all(std::move(to_each));
  Dataset all;
  if (!peers.leader()) return all;
  for (const std::string& part : received) all.append(dataset_from_bytes(part));
  return all;
}

std::filesystem::path data_file(const Config& config, const std::string& name) {
  const std::filesystem::path p(name);
  return p.is_absolute() || config.data.dir.empty() ? p : std::filesystem::path(config.data.dir) / p;
}

bool held_out_by_hash(std::uint64_t split_key, double fraction) {
  constexpr std::uint64_t kScale = 1'000'000;
  return split_key % kScale < static_cast<std::uint64_t>(fraction * kScale);
}

Splits load_splits(const Config& config, const Schema& schema, const std::filesystem::path& rejects_dir,
                   bool stream_train, const SplitReader& reader, Communicator* peers) {
  HEED_CHECK(!(stream_train && reader), "rows from memory cannot be streamed");
  const ReadShare share = peers ? ReadShare{peers->rank(), peers->size()} : ReadShare{};
  HEED_CHECK(share.whole() || !reader, "rows from memory are not shared between ranks");
  auto options_for = [&](const std::string& split) {
    LoadOptions options;
    options.rejects_dir = rejects_dir;
    // Ranks read different rows of the training files, so each lists its own rejected ones.
    options.rejects_name = share.whole() || split != "train" ? fmt::format("rejected_{}.txt", split)
                                                             : fmt::format("rejected_train.rank{}.txt", share.part);
    if (split == "train") options.share = share;
    options.split_keys_read = split == "train";  // the validation carve's (held_out_by_hash)
    return options;
  };
  auto load = [&](const std::string& name, const std::string& split) {
    if (reader) return reader(split, config, schema, options_for(split));
    return load_dataset(expand_file_pattern(data_file(config, name)), config, schema, options_for(split));
  };
  // On several ranks, rank 0 alone reads the validation and test files and scores them.
  const bool scores = share.part == 0;
  const double fraction = config.data.valid_fraction;
  const bool carve = config.data.valid.empty() && fraction > 0;
  const std::string carve_source =
      fmt::format("{:.0f}% of {} by hash of {}", fraction * 100, config.data.train,
                  config.data.valid_by.empty() ? "the row" : config.data.valid_by);
  Splits s;
  if (stream_train) {
    s.streamed = true;
    s.train_files = expand_file_pattern(data_file(config, config.data.train));
    s.train_log = std::make_unique<BadRowLog>(config.data, rejects_path(config, options_for("train")));
    if (carve && !config.data.valid_by_time.empty())
      throw Error("data.valid_by_time needs the training rows in memory (data.stream = \"off\"), or a data.valid "
                  "file: a time split sorts every row");
    if (carve) {
      // One pass over the training files keeps the held-out rows (and reports bad rows).
      StreamOptions stream_options;
      stream_options.parser_threads = static_cast<int>(config.data.parser_threads);
      stream_options.share = share;
      RowStream stream(s.train_files, config, schema, stream_options, *s.train_log);
      Dataset chunk;
      std::vector<std::size_t> hold;
      while (stream.next(chunk)) {
        hold.clear();
        for (std::size_t r = 0; r < chunk.rows; ++r)
          if (held_out_by_hash(chunk.split_keys[r], fraction)) hold.push_back(r);
        s.valid.append(chunk, &hold);
      }
      if (s.train_log->skipped() > 0)
        std::fprintf(stderr, "heed: training files: %s\n", s.train_log->summary().c_str());
      s.train_log->check_fraction();
      s.train_reported = true;
      s.valid_source = carve_source;
      s.held_out = [fraction](std::uint64_t key) { return held_out_by_hash(key, fraction); };
    }
  } else {
    s.train = load(config.data.train, "train");
  }
  if (!config.data.valid.empty()) {
    if (scores) s.valid = load(config.data.valid, "valid");
    s.valid_source = config.data.valid;
  } else if (carve && !stream_train && !config.data.valid_by_time.empty()) {
    const TimeCarve time_carve = peers ? carve_latest_over_ranks(s.train.times, fraction, *peers)
                                       : carve_latest(s.train.times, fraction);
    s.valid = s.train.select(time_carve.hold);
    s.train = s.train.select(time_carve.keep);
    s.valid_source = fmt::format("the latest {:.0f}% of {} by {} (from {})", fraction * 100, config.data.train,
                                 config.data.valid_by_time, time_carve.cut_time);
  } else if (carve && !stream_train) {
    std::vector<std::size_t> keep, hold;
    for (std::size_t r = 0; r < s.train.rows; ++r)
      (held_out_by_hash(s.train.split_keys[r], fraction) ? hold : keep).push_back(r);
    s.valid = s.train.select(hold);
    s.train = s.train.select(keep);
    s.valid_source = carve_source;
  }
  // Each rank carved the held-out rows of its own part; rank 0 puts them together in rank
  // order, which is file order: the validation rows of one process reading every file.
  if (peers && carve) s.valid = gather_to_first_rank(s.valid, *peers);
  if (!config.data.test.empty()) {
    if (scores) s.test = load(config.data.test, "test");
    s.has_test = scores;
  }
  return s;
}

}  // namespace heed
