#pragma once
// Statistics over the seeds of an ablation: the spread of one figure, and the difference
// between two variants paired by seed with a 95% Student-t interval.
#include <cstddef>
#include <vector>

namespace heed::ablate {

// Mean and spread of one figure over seeds; NaN values (a metric that was not computed) are
// left out. std is the sample standard deviation (n - 1); NaN when fewer than 2 values.
struct Spread {
  std::size_t n = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};
Spread spread_of(const std::vector<double>& values);

// 95% two-sided Student-t quantile t(0.975, df), df >= 1 (12.706 for df = 1, 1.96 in the limit).
double t_quantile_975(std::size_t df);

// mean(a_s - b_s) over the seeds where both are finite, with the interval
// mean ± t(0.975, n-1) · std(d) / sqrt(n). With fewer than 2 pairs the interval is
// unavailable: low and high are NaN.
struct PairedDiff {
  std::size_t n = 0;
  double mean = 0, std = 0, half_width = 0, low = 0, high = 0;
  bool has_interval() const;
};
PairedDiff paired_diff(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace heed::ablate
