#pragma once
// Small inline-SVG charts and HTML text helpers for `heed explain`'s report. Every function
// returns markup to paste into the page as is; every string that came from data is escaped.
// No script, no external resource: the charts are plain <svg> elements styled by attributes.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/html_escape.h"

namespace heed::explain {

// A number for people: `digits` significant decimals, "–" for NaN or infinity.
std::string format_number(double value, int digits = 3);

// Round numbers covering [lo, hi], about `target` of them (steps of 1, 2 or 5 times a power
// of ten), and their text with just enough decimals for the step.
std::vector<double> nice_ticks(double lo, double hi, int target);
std::string tick_text(double v, const std::vector<double>& ticks);

// A CSS colour for t in [0, 1]: white to deep blue (t outside is clamped).
std::string shade(double t);
// Black or white, whichever reads better on shade(t).
std::string text_on_shade(double t);

// Horizontal bars with a whisker per bar (e.g. mean ± std), one row per bar, a labelled axis.
struct Bar {
  std::string label;
  double value = 0, low = 0, high = 0;  // whisker from low to high
  std::string color;                    // CSS colour; empty: the default blue
};
struct BarChart {
  std::vector<Bar> bars;
  double axis_lo = 0, axis_hi = 1;
  std::string axis_label;
  std::string title;  // the <title> of the svg, read by screen readers
  int width = 900;
  int digits = 3;  // decimals of the values printed beside the bars
};
std::string horizontal_bars(const BarChart& chart);

// Lines over x = 0, 1, 2, ... with an optional shaded band (lo..hi) per series.
struct Series {
  std::string name, color;
  std::vector<double> y, lo, hi;  // lo, hi: empty or the size of y
};
struct LineChart {
  std::vector<Series> series;
  std::string x_label, y_label, title;
  bool points = false;  // draw a dot at every value
  int width = 900, height = 260;
  double y_lo = NAN, y_hi = NAN;  // a fixed y range (small multiples share one); NaN: the data's
};
std::string line_chart(const LineChart& chart);

// A tiny histogram of `counts` (equal bins), bars scaled to the tallest.
std::string sparkline_histogram(const std::vector<std::uint64_t>& counts, int width, int height,
                                const std::string& color);

// A box-and-whisker strip over [lo, hi]: whiskers p05..p95, box p25..p75, a line at the median
// and a dot at the mean; ticks at lo, the middle and hi.
struct Quantiles {
  double p05 = 0, p25 = 0, p50 = 0, p75 = 0, p95 = 0, mean = 0;
};
std::string quantile_strip(const Quantiles& q, double lo, double hi, int width, int height,
                           const std::string& color);

}  // namespace heed::explain
