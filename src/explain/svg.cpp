#include "explain/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace heed::explain {
namespace {

constexpr const char* kBlue = "#3b78c2";
constexpr const char* kInk = "#1f2937";
constexpr const char* kMuted = "#6b7280";
constexpr const char* kGrid = "#e5e7eb";
constexpr const char* kFont =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";

std::string px(double v) {
  return fmt::format("{:.1f}", v);
}

std::string svg_open(int width, int height, const std::string& title) {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" {} "
      "font-size=\"12\" fill=\"{}\">",
      width, height, width, height, kFont, kInk);
  if (!title.empty()) {
    s += "<title>";
    s += escape_html(title);
    s += "</title>";
  }
  return s;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw * (1 - 1e-9)) break;
  }
  // Multiples of the step counted, not summed, so no rounding error creeps into the values.
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first; k * step <= hi + step * 1e-9; k += 1) ticks.push_back(k == 0 ? 0.0 : k * step);
  return ticks;
}

std::string tick_text(double v, const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  const int digits = std::clamp(static_cast<int>(std::ceil(-std::log10(step) + 1e-9)), 0, 6);
  return fmt::format("{:.{}f}", v, digits);
}


std::string format_number(double value, int digits) {
  if (!std::isfinite(value)) return "\xE2\x80\x93";  // en dash
  std::string s = fmt::format("{:.{}f}", value, digits);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0.000"
  return s;
}

std::string shade(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  // white -> light blue -> deep blue
  const double from[3] = {247, 251, 255}, mid[3] = {107, 174, 214}, to[3] = {8, 69, 148};
  double c[3];
  for (int i = 0; i < 3; ++i)
    c[i] =
        t < 0.5 ? from[i] + (mid[i] - from[i]) * t * 2 : mid[i] + (to[i] - mid[i]) * (t - 0.5) * 2;
  return fmt::format("rgb({},{},{})", std::lround(c[0]), std::lround(c[1]), std::lround(c[2]));
}

std::string text_on_shade(double t) {
  return t > 0.55 ? "#ffffff" : kInk;
}

std::string horizontal_bars(const BarChart& chart) {
  constexpr int kRow = 22, kTop = 6, kBottom = 40;
  // "0.47183 ± 0.00234": two numbers of `digits` decimals, at about 7 px a character.
  const int kValueWidth = std::max(118, (2 * chart.digits + 8) * 7 + 16);
  std::size_t longest = 4;
  for (const Bar& b : chart.bars) longest = std::max(longest, b.label.size());
  const int label_width = std::clamp(static_cast<int>(longest) * 7 + 14, 80, 260);
  const int height = kTop + kRow * static_cast<int>(chart.bars.size()) + kBottom;
  const double plot = chart.width - label_width - kValueWidth;
  const double lo = chart.axis_lo,
               hi = chart.axis_hi > chart.axis_lo ? chart.axis_hi : chart.axis_lo + 1;
  auto x = [&](double v) {
    return label_width + std::clamp((v - lo) / (hi - lo), 0.0, 1.0) * plot;
  };

  std::string s = svg_open(chart.width, height, chart.title);
  const double bottom = kTop + kRow * static_cast<double>(chart.bars.size());
  const std::vector<double> ticks = nice_ticks(lo, hi, 5);
  for (std::size_t i = 0; i < chart.bars.size(); ++i)
    if (i % 2 == 1)
      s += fmt::format("<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f9fafb\"/>",
                       kTop + kRow * i, chart.width, kRow);
  for (double t : ticks) {
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\"/>", px(x(t)),
                     kTop, px(bottom), kGrid);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
                     px(x(t)), px(bottom + 15), kMuted, tick_text(t, ticks));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
                   px(label_width + plot / 2), px(bottom + 33), kMuted,
                   escape_html(chart.axis_label));
  for (std::size_t i = 0; i < chart.bars.size(); ++i) {
    const Bar& b = chart.bars[i];
    const double mid = kTop + kRow * (static_cast<double>(i) + 0.5);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
        label_width - 8, px(mid), escape_html(b.label));
    const double x0 = x(std::max(lo, std::min(0.0, hi))), x1 = x(b.value);
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{}\"><title>{}: "
        "{}</title></rect>",
        px(std::min(x0, x1)), px(mid - 7), px(std::max(1.0, std::abs(x1 - x0))), 14,
        b.color.empty() ? kBlue : b.color, escape_html(b.label), format_number(b.value, 4));
    const double wl = x(b.low), wh = x(b.high);
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.5\"/>",
        px(wl), px(wh), px(mid), kInk);
    for (double w : {wl, wh})
      s += fmt::format(
          "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.5\"/>",
          px(w), px(mid - 4), px(mid + 4), kInk);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">{} <tspan fill=\"{}\">± "
        "{}</tspan></text>",
        px(label_width + plot + 10), px(mid), format_number(b.value, chart.digits), kMuted,
        format_number((b.high - b.low) / 2, chart.digits));
  }
  s += "</svg>";
  return s;
}

std::string line_chart(const LineChart& chart) {
  constexpr int kLeft = 58, kRight = 16, kTop = 30, kBottom = 42;
  std::size_t n = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& se : chart.series) {
    n = std::max(n, se.y.size());
    for (const auto* values : {&se.y, &se.lo, &se.hi})
      for (double v : *values)
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
  }
  if (std::isfinite(chart.y_lo) && std::isfinite(chart.y_hi) && chart.y_hi > chart.y_lo)
    lo = chart.y_lo, hi = chart.y_hi;
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const double pw = chart.width - kLeft - kRight, ph = chart.height - kTop - kBottom;
  auto x = [&](double i) { return kLeft + (n > 1 ? i / static_cast<double>(n - 1) : 0.5) * pw; };
  auto y = [&](double v) { return kTop + (1.0 - (v - lo) / (hi - lo)) * ph; };

  std::string s = svg_open(chart.width, chart.height, chart.title);
  const std::vector<double> yticks = nice_ticks(lo, hi, 5);
  for (double t : yticks) {
    s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\"/>", kLeft,
                     px(kLeft + pw), px(y(t)), kGrid);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\" "
        "fill=\"{}\">{}</text>",
        kLeft - 6, px(y(t)), kMuted, tick_text(t, yticks));
  }
  if (n > 0) {
    const std::vector<double> xticks =
        nice_ticks(0, static_cast<double>(n - 1), std::min<int>(10, static_cast<int>(n)));
    for (double t : xticks) {
      if (t != std::floor(t)) continue;
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
                       px(x(t)), px(kTop + ph + 16), kMuted, static_cast<long long>(t));
    }
  }
  s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\"/>", kLeft,
                   px(kLeft + pw), px(kTop + ph), kMuted);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
                   px(kLeft + pw / 2), chart.height - 6, kMuted, escape_html(chart.x_label));
  s += fmt::format(
      "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" "
      "fill=\"{}\">{}</text>",
      px(kTop + ph / 2), kMuted, escape_html(chart.y_label));
  double legend_x = kLeft;
  for (const Series& se : chart.series) {
    if (!se.lo.empty() && se.lo.size() == se.y.size() && se.hi.size() == se.y.size()) {
      std::string points;
      for (std::size_t i = 0; i < se.y.size(); ++i)
        points += fmt::format("{},{} ", px(x(static_cast<double>(i))), px(y(se.hi[i])));
      for (std::size_t i = se.y.size(); i-- > 0;)
        points += fmt::format("{},{} ", px(x(static_cast<double>(i))), px(y(se.lo[i])));
      s += fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
                       points, se.color);
    }
    std::string points;
    for (std::size_t i = 0; i < se.y.size(); ++i)
      points += fmt::format("{},{} ", px(x(static_cast<double>(i))), px(y(se.y[i])));
    s += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-linejoin=\"round\"/>",
        points, se.color);
    if (chart.points)
      for (std::size_t i = 0; i < se.y.size(); ++i)
        s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"/>",
                         px(x(static_cast<double>(i))), px(y(se.y[i])), se.color);
    s += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"12\" y2=\"12\" stroke=\"{}\" stroke-width=\"3\"/>",
        px(legend_x), px(legend_x + 18), se.color);
    s += fmt::format("<text x=\"{}\" y=\"12\" dominant-baseline=\"middle\">{}</text>",
                     px(legend_x + 24), escape_html(se.name));
    legend_x += 24 + 7.0 * static_cast<double>(se.name.size()) + 22;
  }
  s += "</svg>";
  return s;
}

std::string sparkline_histogram(const std::vector<std::uint64_t>& counts, int width, int height,
                                const std::string& color) {
  std::string s = svg_open(width, height, "histogram");
  std::uint64_t top = 0;
  for (auto c : counts) top = std::max(top, c);
  const double w =
      counts.empty() ? 0.0 : static_cast<double>(width) / static_cast<double>(counts.size());
  s += fmt::format("<line x1=\"0\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\" stroke=\"{2}\"/>", width,
                   height - 0.5, kGrid);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double h =
        std::max(1.0, static_cast<double>(counts[i]) / static_cast<double>(top) * (height - 2));
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                     px(w * static_cast<double>(i)), px(height - h), px(std::max(0.5, w - 0.6)),
                     px(h), color);
  }
  s += "</svg>";
  return s;
}

std::string quantile_strip(const Quantiles& q, double lo, double hi, int width, int height,
                           const std::string& color) {
  constexpr double kPad = 8;
  const double span = hi > lo ? hi - lo : 1.0;
  auto x = [&](double v) {
    return kPad + std::clamp((v - lo) / span, 0.0, 1.0) * (width - 2 * kPad);
  };
  const double mid = (height - 12) / 2.0;
  std::string s = svg_open(width, height, "quantiles: p05, p25, median, p75, p95 and mean");
  s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\"/>", px(kPad),
                   px(width - kPad), px(height - 13), kGrid);
  const double ticks[] = {lo, (lo + hi) / 2, hi};
  const char* anchors[] = {"start", "middle", "end"};
  for (int i = 0; i < 3; ++i) {
    const double t = ticks[i];
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\"/>", px(x(t)),
                     px(height - 15), px(height - 11), kMuted);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"{}\" fill=\"{}\">{}</text>",
        px(x(t) + (i == 0   ? -3
                   : i == 2 ? 3
                            : 0)),
        height - 3, anchors[i], kMuted, format_number(t, 2));  // descenders inside the box
  }
  s += fmt::format(
      "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.5\"/>",
      px(x(q.p05)), px(x(q.p95)), px(mid), color);
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.35\" "
      "stroke=\"{}\"/>",
      px(x(q.p25)), px(mid - 6), px(std::max(1.0, x(q.p75) - x(q.p25))), 12, color, color);
  s += fmt::format(
      "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"/>",
      px(x(q.p50)), px(mid - 6), px(mid + 6), color);
  s += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"#ffffff\" stroke=\"{}\" stroke-width=\"1.5\"/>",
      px(x(q.mean)), px(mid), kInk);
  s += "</svg>";
  return s;
}

}  // namespace heed::explain
