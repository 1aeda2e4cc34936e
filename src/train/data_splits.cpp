#include "train/data_splits.h"

#include "core/error.h"
#include "data/dataset_loader.h"

namespace heed {

std::filesystem::path data_file(const Config& config, const std::string& name) {
  const std::filesystem::path p(name);
  return p.is_absolute() || config.data.dir.empty() ? p : std::filesystem::path(config.data.dir) / p;
}

Splits load_splits(const Config& config, const Schema& schema) {
  Splits s;
  s.train = load_dataset(data_file(config, config.data.train), config, schema);
  if (!config.data.valid.empty()) {
    s.valid = load_dataset(data_file(config, config.data.valid), config, schema);
    s.valid_source = config.data.valid;
  } else if (config.data.valid_fraction > 0) {
    constexpr std::uint64_t kScale = 1'000'000;
    const auto cut = static_cast<std::uint64_t>(config.data.valid_fraction * kScale);
    std::vector<std::size_t> keep, hold;
    for (std::size_t r = 0; r < s.train.rows; ++r) (s.train.split_keys[r] % kScale < cut ? hold : keep).push_back(r);
    s.valid = s.train.select(hold);
    s.train = s.train.select(keep);
    s.valid_source = fmt::format("{:.0f}% of {} by hash of {}", config.data.valid_fraction * 100, config.data.train,
                                 config.data.valid_by.empty() ? "the row" : config.data.valid_by);
  }
  if (!config.data.test.empty()) {
    s.test = load_dataset(data_file(config, config.data.test), config, schema);
    s.has_test = true;
  }
  return s;
}

}  // namespace heed
