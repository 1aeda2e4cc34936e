#include "prepare/recipes/split_writers.h"

#include "core/error.h"
#include "hashing/feature_hash.h"

namespace heed::recipes {
namespace {

// Fixed so that the split is part of the recipe's definition, like its columns.
constexpr std::uint64_t kSplitSeed = 0x68656564'73706c74ULL;  // "heedsplt"

}  // namespace

void HashSplit::check() const {
  const auto in_range = [](double f) { return f >= 0.0 && f < 1.0; };
  if (!in_range(valid_fraction) || !in_range(test_fraction) ||
      valid_fraction + test_fraction >= 1.0) {
    throw Error(fmt::format("the valid ({}) and test ({}) fractions must each be in [0, 1) and "
                            "leave rows for training (sum below 1)",
                            valid_fraction, test_fraction));
  }
}

Part HashSplit::of(std::string_view key) const {
  // The top 53 bits as a double in [0, 1): uniform, exact.
  const double h = static_cast<double>(hash_value(key, kSplitSeed) >> 11) * 0x1.0p-53;
  if (h < test_fraction) return Part::kTest;
  if (h < test_fraction + valid_fraction) return Part::kValid;
  return Part::kTrain;
}

SplitWriters::SplitWriters(std::filesystem::path out, std::span<const Column> columns)
    : out_(std::move(out)), columns_(columns) {}

TsvWriter& SplitWriters::operator[](Part part) {
  auto& writer = writers_[static_cast<std::size_t>(part)];
  if (!writer) {
    writer = std::make_unique<TsvWriter>(out_ / kPartFiles[static_cast<std::size_t>(part)], columns_);
  }
  return *writer;
}

void SplitWriters::finish(PrepareSummary& summary, nlohmann::ordered_json& files) {
  std::size_t* rows[] = {&summary.train_rows, &summary.valid_rows, &summary.test_rows};
  for (std::size_t p = 0; p < writers_.size(); ++p) {
    if (!writers_[p]) continue;
    const TsvStats stats = writers_[p]->finish();
    *rows[p] = stats.rows;
    files[std::string(kPartFiles[p])] = describe_file(stats);
    summary.files.push_back(writers_[p]->path().string());
  }
}

}  // namespace heed::recipes
