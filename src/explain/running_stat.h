#pragma once
// Streaming statistics for `heed explain`: Welford's mean and variance (with min and max), and
// a fixed-range histogram. Memory does not grow with the number of values added.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace heed::explain {

class RunningStat {
 public:
  void add(double x) {
    ++count_;
    const double delta = x - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (x - mean_);
    min_ = count_ == 1 ? x : std::min(min_, x);
    max_ = count_ == 1 ? x : std::max(max_, x);
  }
  std::uint64_t count() const { return count_; }
  double mean() const { return mean_; }
  // Population standard deviation (0 for fewer than two values).
  double stddev() const {
    return count_ > 1 ? std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_))) : 0.0;
  }
  double min() const { return min_; }
  double max() const { return max_; }

 private:
  std::uint64_t count_ = 0;
  double mean_ = 0.0, m2_ = 0.0, min_ = 0.0, max_ = 0.0;
};

// Counts of values in `bins` equal-width bins over [lo, hi]; values outside are clamped into
// the first or last bin.
class Histogram {
 public:
  Histogram() = default;
  Histogram(double lo, double hi, std::size_t bins) : lo_(lo), hi_(hi), counts_(bins, 0) {}
  void add(double x) {
    if (counts_.empty()) return;
    const double t = hi_ > lo_ ? (x - lo_) / (hi_ - lo_) : 0.0;
    const auto last = static_cast<std::int64_t>(counts_.size()) - 1;
    const auto bin =
        std::clamp(static_cast<std::int64_t>(std::floor(t * static_cast<double>(counts_.size()))),
                   std::int64_t{0}, last);
    ++counts_[static_cast<std::size_t>(bin)];
  }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (auto c : counts_) t += c;
    return t;
  }
  // The counts regrouped into `bins` bins over [lo, hi], each bin of this histogram going
  // where its centre falls (bins whose centre lies outside are left out).
  Histogram zoomed(double lo, double hi, std::size_t bins) const {
    Histogram out(lo, hi, bins);
    const double width = (hi_ - lo_) / static_cast<double>(counts_.size());
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      const double centre = lo_ + width * (static_cast<double>(i) + 0.5);
      if (counts_[i] == 0 || centre < lo || centre > hi) continue;
      const auto last = static_cast<std::int64_t>(bins) - 1;
      const auto bin = std::clamp(static_cast<std::int64_t>(std::floor((centre - lo) / (hi - lo) *
                                                                       static_cast<double>(bins))),
                                  std::int64_t{0}, last);
      out.counts_[static_cast<std::size_t>(bin)] += counts_[i];
    }
    return out;
  }
  // The q-quantile, interpolated linearly inside its bin (accurate to a bin's width).
  double quantile(double q) const {
    const std::uint64_t n = total();
    if (n == 0) return 0.0;
    const double target = q * static_cast<double>(n);
    const double width = (hi_ - lo_) / static_cast<double>(counts_.size());
    double seen = 0.0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      const double c = static_cast<double>(counts_[i]);
      if (c > 0 && seen + c >= target)
        return lo_ + width * (static_cast<double>(i) + (target - seen) / c);
      seen += c;
    }
    return hi_;
  }

 private:
  double lo_ = 0.0, hi_ = 1.0;
  std::vector<std::uint64_t> counts_;
};

}  // namespace heed::explain
