#include "embedding/numeric_normalizer.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "core/binary_io.h"
#include "core/error.h"

namespace heed {

NumericNormalizer::NumericNormalizer(const Schema& schema) {
  transforms_.resize(schema.num_dense);
  stats_.resize(schema.num_dense);
  for (const FeatureInfo& f : schema.features) {
    if (!f.is_dense()) continue;
    const auto d = static_cast<std::size_t>(f.dense);
    transforms_[d] = f.transform;
    stats_[d].log1p = f.transform == NumericTransform::kLog1p;
  }
}

void NumericNormalizer::fit(const Dataset& train) {
  add_to_fit(train);
  finish_fit();
}

bool NumericNormalizer::needs_statistics() const {
  for (NumericTransform t : transforms_)
    if (t == NumericTransform::kStandardize || t == NumericTransform::kMinMax) return true;
  return false;
}

void NumericNormalizer::add_to_fit(const Dataset& part) {
  running_.resize(stats_.size());
  for (std::size_t d = 0; d < stats_.size(); ++d) {
    if (transforms_[d] != NumericTransform::kStandardize && transforms_[d] != NumericTransform::kMinMax) continue;
    Running& r = running_[d];
    for (float v : part.dense[d]) {
      if (v != v) continue;
      r.sum += v, r.sum_sq += static_cast<double>(v) * v, ++r.n;
      r.low = std::min<double>(r.low, v), r.high = std::max<double>(r.high, v);
    }
  }
}

std::string NumericNormalizer::partial_fit() const {
  std::vector<Running> running = running_;
  running.resize(stats_.size());
  static_assert(std::is_trivially_copyable_v<Running>);
  return std::string(reinterpret_cast<const char*>(running.data()), running.size() * sizeof(Running));
}

void NumericNormalizer::merge_partial_fits(const std::vector<std::string>& parts) {
  std::vector<Running> merged(stats_.size());
  for (const std::string& part : parts) {
    HEED_CHECK(part.size() == merged.size() * sizeof(Running), "partial statistics of {} bytes for {} dense inputs",
               part.size(), merged.size());
    for (std::size_t d = 0; d < merged.size(); ++d) {
      Running r;
      std::memcpy(&r, part.data() + d * sizeof(Running), sizeof r);
      Running& m = merged[d];
      m.sum += r.sum, m.sum_sq += r.sum_sq, m.n += r.n;
      m.low = std::min(m.low, r.low), m.high = std::max(m.high, r.high);
    }
  }
  running_ = std::move(merged);
}

void NumericNormalizer::finish_fit() {
  running_.resize(stats_.size());
  for (std::size_t d = 0; d < stats_.size(); ++d) {
    if (transforms_[d] != NumericTransform::kStandardize && transforms_[d] != NumericTransform::kMinMax) continue;
    const Running& r = running_[d];
    Stat& s = stats_[d];
    if (r.n == 0) continue;  // nothing to learn from: identity
    if (transforms_[d] == NumericTransform::kStandardize) {
      const double mean = r.sum / static_cast<double>(r.n);
      const double var = std::max(0.0, r.sum_sq / static_cast<double>(r.n) - mean * mean);
      s.shift = static_cast<float>(mean);
      s.scale = var > 0 ? static_cast<float>(1.0 / std::sqrt(var)) : 1.0f;
    } else {
      s.shift = static_cast<float>(r.low);
      s.scale = r.high > r.low ? static_cast<float>(1.0 / (r.high - r.low)) : 1.0f;
    }
  }
  running_.clear();
}

void NumericNormalizer::save(std::ostream& out) const {
  write_pod<std::uint64_t>(out, stats_.size());
  for (const Stat& s : stats_) {
    // Member by member into a zeroed record of the same layout: writing the struct itself
    // would copy its padding bytes, which are uninitialized, into the model file.
    char record[sizeof(Stat)] = {};
    std::memcpy(record + offsetof(Stat, log1p), &s.log1p, sizeof s.log1p);
    std::memcpy(record + offsetof(Stat, shift), &s.shift, sizeof s.shift);
    std::memcpy(record + offsetof(Stat, scale), &s.scale, sizeof s.scale);
    out.write(record, sizeof record);
  }
}

void NumericNormalizer::load(std::istream& in) {
  const auto n = read_pod<std::uint64_t>(in);
  if (n != stats_.size()) throw Error("checkpoint's numeric statistics do not match the feature schema");
  for (Stat& s : stats_) s = read_pod<Stat>(in);
}

}  // namespace heed
