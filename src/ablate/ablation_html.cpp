// ablation.html: one self-contained page (no scripts, no external files): the settings, the
// recommendation, three inline SVG plots (validation and test AUC per variant; each variant's
// AUC difference to the reference with its paired interval; the same for logloss), and the
// report's tables. Plots run one row per variant, so labels of any length never collide, and
// the page fits a 1400 px screen (wide tables scroll inside their box).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ablate/ablation_report.h"
#include "core/error.h"
#include "core/html_escape.h"
#include "explain/svg.h"

namespace heed::ablate {
namespace {

constexpr const char* kValidColor = "#7b5ea7";  // what the recommendation reads
constexpr const char* kTestColor = "#3b78c2";   // reported only
constexpr const char* kMuted = "#6b7280";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string px(double v) {
  return fmt::format("{:.1f}", v);
}

// One figure of one variant on a dot plot: a dot at `mean`, a bar from lo to hi (NaN: none),
// each seed's value as a small grey dot, and its text at the right.
struct Mark {
  std::string color;
  double mean = kNaN, lo = kNaN, hi = kNaN;
  std::vector<double> seeds;
  std::string text;
};
struct PlotRow {
  std::string name, description;
  bool recommended = false;
  std::vector<Mark> marks;
};
struct LegendItem {
  std::string color, text;
  bool line = false;  // a dashed line rather than a dot
};
struct DotPlot {
  std::string title;  // <title>, for screen readers
  std::string x_label;
  std::vector<PlotRow> rows;
  std::vector<std::pair<double, std::string>> lines;  // dashed vertical lines: value, colour
  bool zero_line = false;
  std::vector<LegendItem> legend;
};

// Widths of text at font-size 12 (11 for descriptions), generous so nothing overlaps.
double text_width(const std::string& s, double size) {
  return static_cast<double>(s.size()) * size * 0.62;
}

std::string dot_plot(const DotPlot& plot) {
  constexpr double kWidth = 960, kTop = 30, kBottom = 44, kMarkStep = 15, kValueWidth = 230;
  double label_width = 120;
  for (const PlotRow& r : plot.rows)
    label_width = std::max({label_width, text_width(r.name, 12) + 24,
                            text_width(r.description, 11) + 24});
  label_width = std::min(label_width, 330.0);
  double lo = INFINITY, hi = -INFINITY;
  auto widen = [&](double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  };
  for (const PlotRow& r : plot.rows)
    for (const Mark& m : r.marks) {
      for (double v : {m.mean, m.lo, m.hi}) widen(v);
      for (double v : m.seeds) widen(v);
    }
  for (const auto& [v, color] : plot.lines) widen(v);
  if (plot.zero_line) widen(0);
  std::vector<double> row_top;
  double y = kTop;
  for (const PlotRow& r : plot.rows) {
    row_top.push_back(y);
    y += std::max(36.0, 10 + kMarkStep * static_cast<double>(r.marks.size()));
  }
  const double plot_bottom = y, height = y + kBottom;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" role=\"img\" font-family=\"system-ui, sans-serif\" font-size=\"12\" "
      "fill=\"#1f2937\"><title>{2}</title>",
      kWidth, px(height), escape_html(plot.title));
  // Legend along the top.
  double lx = label_width;
  for (const LegendItem& item : plot.legend) {
    if (item.line)
      s += fmt::format(
          "<line x1=\"{0}\" x2=\"{1}\" y1=\"12\" y2=\"12\" stroke=\"{2}\" stroke-dasharray=\"5 3\" "
          "stroke-width=\"1.5\"/>",
          px(lx), px(lx + 18), item.color);
    else
      s += fmt::format("<circle cx=\"{}\" cy=\"12\" r=\"4.5\" fill=\"{}\"/>", px(lx + 9),
                       item.color);
    s += fmt::format("<text x=\"{}\" y=\"16\">{}</text>", px(lx + 24), escape_html(item.text));
    lx += 24 + text_width(item.text, 12) + 18;
  }
  if (!std::isfinite(lo))
    return s + fmt::format("<text x=\"{}\" y=\"{}\">nothing to plot</text></svg>",
                           px(label_width), px(kTop + 20));
  if (hi - lo < 1e-6) lo -= 5e-4, hi += 5e-4;
  // Round ticks, and an axis that starts and ends on one.
  const double pad = (hi - lo) * 0.06;
  std::vector<double> ticks = explain::nice_ticks(lo - pad, hi + pad, 6);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : (hi - lo);
  const double axis_lo = std::floor((lo - pad) / step + 1e-9) * step,
               axis_hi = std::ceil((hi + pad) / step - 1e-9) * step;
  ticks = explain::nice_ticks(axis_lo, axis_hi, 6);
  const double plot_left = label_width, plot_w = kWidth - label_width - kValueWidth;
  auto x_of = [&](double v) { return plot_left + (v - axis_lo) / (axis_hi - axis_lo) * plot_w; };
  for (std::size_t i = 0; i < plot.rows.size(); ++i)
    if (i % 2 == 1)
      s += fmt::format("<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f9fafb\"/>",
                       px(row_top[i]),
                       kWidth, px((i + 1 < row_top.size() ? row_top[i + 1] : plot_bottom) -
                                  row_top[i]));
  for (double t : ticks) {
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e5e7eb\"/>"
        "<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\" fill=\"{4}\">{5}</text>",
        px(x_of(t)), px(kTop), px(plot_bottom), px(plot_bottom + 15), kMuted,
        explain::tick_text(t, ticks));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
                   px(plot_left + plot_w / 2), px(plot_bottom + 35), kMuted,
                   escape_html(plot.x_label));
  if (plot.zero_line)
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#374151\" stroke-width=\"1.2\"/>",
        px(x_of(0)), px(kTop), px(plot_bottom));
  for (const auto& [v, color] : plot.lines)
    s += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
        "stroke-dasharray=\"5 3\" stroke-width=\"1.5\"/>",
        px(x_of(v)), px(kTop), px(plot_bottom), color);
  for (std::size_t i = 0; i < plot.rows.size(); ++i) {
    const PlotRow& r = plot.rows[i];
    const double top = row_top[i];
    s += fmt::format("<text x=\"8\" y=\"{}\"{}>{}</text>", px(top + 15),
                     r.recommended ? " font-weight=\"bold\" fill=\"#1e7a4c\"" : "",
                     escape_html(r.name));
    s += fmt::format("<text x=\"8\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
                     px(top + 29), kMuted, escape_html(r.description));
    for (std::size_t k = 0; k < r.marks.size(); ++k) {
      const Mark& m = r.marks[k];
      const double my = top + 11 + kMarkStep * static_cast<double>(k);
      if (std::isfinite(m.lo) && std::isfinite(m.hi))
        s += fmt::format(
            "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"/>"
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"{4}\" y2=\"{5}\" stroke=\"{3}\"/>"
            "<line x1=\"{1}\" x2=\"{1}\" y1=\"{4}\" y2=\"{5}\" stroke=\"{3}\"/>",
            px(x_of(m.lo)), px(x_of(m.hi)), px(my), m.color, px(my - 4), px(my + 4));
      for (double v : m.seeds)
        if (std::isfinite(v))
          s += fmt::format(
              "<circle cx=\"{}\" cy=\"{}\" r=\"2.2\" fill=\"#9ca3af\" fill-opacity=\"0.9\"/>",
              px(x_of(v)), px(my));
      if (std::isfinite(m.mean))
        s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{}\"><title>{}</title></circle>",
                         px(x_of(m.mean)), px(my), m.color, escape_html(m.text));
      s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
                       px(plot_left + plot_w + 12), px(my + 4), m.color, escape_html(m.text));
    }
  }
  return s + "</svg>\n";
}

std::string mean_std_text(const Spread& s) {
  if (s.n == 0) return "n/a";
  if (!std::isfinite(s.std)) return fmt::format("{:.5f}", s.mean);
  return fmt::format("{:.5f} ± {:.5f}", s.mean, s.std);
}

std::string diff_mark_text(const PairedDiff& d) {
  if (d.n == 0) return "n/a";
  if (!d.has_interval()) return fmt::format("{:+.5f} (1 seed)", d.mean);
  return fmt::format("{:+.5f} [{:+.5f}, {:+.5f}]", d.mean, d.low, d.high);
}

Mark spread_mark(const Spread& s, const std::vector<double>& seeds, const char* color) {
  Mark m;
  m.color = color;
  m.seeds = seeds;
  m.text = mean_std_text(s);
  if (s.n == 0) return m;
  m.mean = s.mean;
  if (std::isfinite(s.std)) m.lo = s.mean - s.std, m.hi = s.mean + s.std;
  return m;
}

Mark diff_mark(const PairedDiff& d, const char* color) {
  Mark m;
  m.color = color;
  m.text = diff_mark_text(d);
  if (d.n == 0) return m;
  m.mean = d.mean;
  if (d.has_interval()) m.lo = d.low, m.hi = d.high;
  return m;
}

PlotRow variant_row(const AblationResult& result, const AblationSummary& summary, std::size_t i) {
  PlotRow row;
  row.name = result.variants[i].variant.name;
  row.description = result.variants[i].variant.description();
  row.recommended = summary.recommendation.available && summary.recommendation.variant == i;
  if (row.recommended) row.name += "  (recommended)";
  return row;
}

std::string auc_plot(const AblationResult& result, const AblationSummary& summary) {
  DotPlot plot;
  plot.title = "Validation and test AUC per variant";
  plot.x_label = "AUC: mean over seeds, bar ± one seed std, grey dots each seed";
  plot.legend = {{kValidColor, "validation AUC (the recommendation reads it)", false},
                 {kTestColor, "test AUC (reported only)", false}};
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    PlotRow row = variant_row(result, summary, i);
    std::vector<double> valid, test;
    for (const RunResult& r : result.variants[i].runs) {
      valid.push_back(r.valid_auc);
      test.push_back(r.test_auc);
    }
    row.marks.push_back(spread_mark(summary.variants[i].valid_auc, valid, kValidColor));
    row.marks.push_back(spread_mark(summary.variants[i].test_auc, test, kTestColor));
    plot.rows.push_back(std::move(row));
  }
  if (summary.has_reference) {
    const VariantSummary& ref = summary.variants[summary.reference];
    if (ref.valid_auc.n > 0) plot.lines.emplace_back(ref.valid_auc.mean, kValidColor);
    if (ref.test_auc.n > 0) plot.lines.emplace_back(ref.test_auc.mean, kTestColor);
    plot.legend.push_back(
        {kMuted, result.variants[summary.reference].variant.name + "'s means", true});
  }
  return dot_plot(plot);
}

// Each variant's difference to the reference, `auc` or logloss.
std::string diff_plot(const AblationResult& result, const AblationSummary& summary, bool auc) {
  const std::string ref = result.variants[summary.reference].variant.name;
  DotPlot plot;
  plot.title = fmt::format("{} difference to {}, paired by seed", auc ? "AUC" : "Logloss", ref);
  plot.x_label = fmt::format(
      "variant − {} on the same seed: mean, bar the 95% paired t-interval ({})", ref,
      auc ? "right of 0 is better" : "left of 0 is better");
  plot.zero_line = true;
  plot.legend = {{kValidColor, auc ? "Δ validation AUC" : "Δ validation logloss", false},
                 {kTestColor, auc ? "Δ test AUC" : "Δ test logloss", false}};
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const VariantSummary& s = summary.variants[i];
    if (!s.has_diff) continue;
    PlotRow row = variant_row(result, summary, i);
    row.marks.push_back(diff_mark(auc ? s.diff_valid_auc : s.diff_valid_logloss, kValidColor));
    row.marks.push_back(diff_mark(auc ? s.diff_test_auc : s.diff_test_logloss, kTestColor));
    plot.rows.push_back(std::move(row));
  }
  return dot_plot(plot);
}

// A cell with an interval "[low, high]" or a spread "± std" breaks before it, so the columns
// stay narrow enough for the main table's twelve to fit a 1400 px screen.
std::string cell_html(const std::string& text) {
  std::size_t at = text.find(" [");
  if (at == std::string::npos) at = text.find(" ± ");
  if (at == std::string::npos) return escape_html(text);
  return escape_html(text.substr(0, at)) + "<br><span class=\"iv\">" +
         escape_html(text.substr(at + 1)) + "</span>";
}

std::string html_table(const ReportTable& table) {
  std::string html = "<div class=\"scroll\"><table>\n<tr>";
  for (const std::string& h : table.headers)
    html.append("<th>").append(escape_html(h)).append("</th>");
  html += "</tr>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (const std::string& cell : row) html.append("<td>").append(cell_html(cell)).append("</td>");
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

// The per-slice figures one row per (value, variant): as many values as the slice has, and
// the page stays as wide as four columns.
ReportTable long_slice_table(const AblationResult& result, const AblationSummary& summary,
                             const ReportTable& wide) {
  ReportTable t;
  t.title = wide.title;
  t.caption = wide.caption;
  const std::string vs = summary.has_reference
                             ? " vs " + result.variants[summary.reference].variant.name
                             : std::string();
  t.headers = {result.slice, "variant", "test AUC", "Δ AUC" + vs};
  for (std::size_t k = 0; k < summary.slice_values.size(); ++k)
    for (std::size_t i = 0; i < wide.rows.size(); ++i) {
      const auto& row = wide.rows[i];
      if (row.size() < 3 + 2 * k) continue;
      t.rows.push_back({summary.slice_values[k], row[0], row[1 + 2 * k], row[2 + 2 * k]});
    }
  return t;
}

constexpr const char* kStyle = R"CSS(
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:#1f2937;background:#fff}
main{max-width:1300px;margin:0 auto;padding:20px 24px 40px}
h1{margin:0 0 6px}
h2{margin:28px 0 6px;font-size:20px}
table{border-collapse:collapse;margin:0.5em 0 1em;font-size:13px}
th,td{border:1px solid #d1d5db;padding:0.25em 0.55em;text-align:right;vertical-align:top}
td{white-space:nowrap}
th{background:#f3f4f6;font-weight:600;max-width:10em}
th:first-child,td:first-child{text-align:left}
.iv{color:#6b7280;font-size:0.92em}
.scroll{overflow-x:auto;max-width:100%}
.plot{overflow-x:auto;max-width:100%;margin:4px 0 8px}
.plot svg{display:block}
.rec{background:#eef8f0;border-left:4px solid #2a7;padding:0.6em 1em;overflow-wrap:anywhere}
.small{color:#4b5563;font-size:0.9em}
)CSS";

}  // namespace

std::string ablation_html(const AblationResult& result, const AblationSummary& summary) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>heed ablation</title>\n<style>";
  html += kStyle;
  html += "</style>\n</head>\n<body>\n<main>\n<h1>heed ablation</h1>\n";
  std::string seeds;
  for (std::uint64_t s : result.seeds) {
    if (!seeds.empty()) seeds += ", ";
    seeds += std::to_string(s);
  }
  html.append("<p class=\"small\">Seeds ")
      .append(escape_html(seeds))
      .append(
          ". Early stopping and the recommendation read the validation split; the test split is "
          "only reported.</p>\n");
  for (const std::string& note : result.notes)
    html.append("<p class=\"small\">Note: ").append(escape_html(note)).append("</p>\n");
  html.append("<p class=\"rec\">").append(escape_html(summary.recommendation.text)).append("</p>\n");
  html += "<h2>AUC per variant</h2>\n<div class=\"plot\">" + auc_plot(result, summary) + "</div>\n";
  if (summary.has_reference && result.variants.size() > 1) {
    const std::string ref = escape_html(result.variants[summary.reference].variant.name);
    html += "<h2>Difference to " + ref + "</h2>\n<p class=\"small\">Per seed, variant − " + ref +
            " on the same seed; the dot is the mean of those differences, the bar its 95% paired "
            "t-interval (none with one seed). An interval that does not cross 0 is a difference "
            "the seeds can see.</p>\n<div class=\"plot\">" +
            diff_plot(result, summary, true) + "</div>\n<div class=\"plot\">" +
            diff_plot(result, summary, false) + "</div>\n";
  }
  for (const ReportTable& t : report_tables(result, summary)) {
    const ReportTable shown = t.id == "slices" ? long_slice_table(result, summary, t) : t;
    html.append("<h2>").append(escape_html(shown.title)).append("</h2>\n");
    if (!shown.caption.empty())
      html.append("<p class=\"small\">").append(escape_html(shown.caption)).append("</p>\n");
    html += html_table(shown);
  }
  html += std::string("<h2>Rules</h2>\n<p class=\"small\">Recommendation: ") +
          escape_html(kRecommendationRule) +
          ".</p>\n<p class=\"small\">Differences: " + escape_html(kIntervalRule) +
          ".</p>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace heed::ablate
