#pragma once
// Quantile buckets for numeric features (bucketize = "quantile"): bucket edges such that each
// bucket holds about the same share of the training values. They come from one streaming pass
// over the training files that keeps a uniform sample of at most kSampleSize values per feature
// (reservoir sampling with a fixed seed, so the edges are the same every run); with fewer
// values the edges are exact quantiles. Missing and non-numeric cells are left out here (the
// loader reports non-numeric ones).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "config/config.h"
#include "core/rng.h"

namespace heed {

class ReservoirSample {
 public:
  ReservoirSample(std::size_t capacity, std::uint64_t seed) : capacity_(capacity), rng_(seed) {}
  void add(double value);
  const std::vector<double>& values() const { return values_; }
  std::uint64_t seen() const { return seen_; }

 private:
  std::size_t capacity_;
  Rng rng_;
  std::vector<double> values_;
  std::uint64_t seen_ = 0;
};

// Edges splitting `values` into `buckets` parts of about equal counts, strictly ascending (fewer
// when values repeat). A value equal to an edge falls in the bucket above it.
std::vector<double> quantile_edges(std::vector<double> values, std::size_t buckets);

constexpr std::size_t kQuantileSampleSize = 1u << 16;

// `config` with the edges of every quantile feature that has none filled in from `train_files`.
// Returns `config` unchanged (no pass) when there is nothing to fill.
Config with_quantile_boundaries(const Config& config, const std::vector<std::filesystem::path>& train_files);

}  // namespace heed
