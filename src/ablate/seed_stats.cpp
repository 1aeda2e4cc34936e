#include "ablate/seed_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace heed::ablate {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

Spread spread_of(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  Spread s;
  s.n = v.size();
  if (v.empty()) {
    s.mean = s.std = s.min = s.max = kNaN;
    return s;
  }
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - s.mean) * (x - s.mean);
  s.std = v.size() < 2 ? kNaN : std::sqrt(squares / static_cast<double>(v.size() - 1));
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

double t_quantile_975(std::size_t df) {
  HEED_CHECK(df >= 1, "t_quantile_975: df must be at least 1");
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                      2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                      2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                      2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df <= std::size(kTable)) return kTable[df - 1];
  // Cornish-Fisher expansion around the normal quantile; within 1e-3 of the exact value for df
  // > 30.
  const double z = 1.959964, n = static_cast<double>(df);
  return z + (z * z * z + z) / (4 * n) +
         (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

bool PairedDiff::has_interval() const {
  return n >= 2 && std::isfinite(low) && std::isfinite(high);
}

PairedDiff paired_diff(const std::vector<double>& a, const std::vector<double>& b) {
  HEED_CHECK(a.size() == b.size(), "paired_diff: {} values against {}", a.size(), b.size());
  std::vector<double> d;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) && std::isfinite(b[i])) d.push_back(a[i] - b[i]);
  const Spread s = spread_of(d);
  PairedDiff p;
  p.n = s.n;
  p.mean = s.mean;
  p.std = s.std;
  if (s.n < 2) {
    p.half_width = p.low = p.high = kNaN;
    return p;
  }
  p.half_width = t_quantile_975(s.n - 1) * s.std / std::sqrt(static_cast<double>(s.n));
  p.low = p.mean - p.half_width;
  p.high = p.mean + p.half_width;
  return p;
}

}  // namespace heed::ablate
