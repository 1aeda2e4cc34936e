// ablation.html: one self-contained page (no scripts, no external files): the settings, an
// inline SVG plot of test AUC per variant (mean, ± one seed std, each seed's value, the plain
// model's mean as a dashed line), the report's tables and the recommendation.
#include <algorithm>
#include <cmath>

#include "ablate/ablation_report.h"
#include "core/error.h"
#include "core/html_escape.h"

namespace heed::ablate {
namespace {


std::string svg_plot(const AblationResult& result, const AblationSummary& summary) {
  constexpr double kWidth = 760, kHeight = 380, kLeft = 80, kRight = 20, kTop = 36, kBottom = 64;
  const std::size_t n = result.variants.size();
  double lo = INFINITY, hi = -INFINITY;
  auto widen = [&](double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const Spread& s = summary.variants[i].test_auc;
    if (std::isfinite(s.std)) {
      widen(s.mean - s.std);
      widen(s.mean + s.std);
    }
    for (const RunResult& r : result.variants[i].runs) widen(r.test_auc);
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      kWidth, kHeight);
  svg += fmt::format(
      "<text x=\"{}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Test AUC per variant</text>\n",
      kLeft);
  if (!std::isfinite(lo))
    return svg + "<text x=\"80\" y=\"60\">no test AUC to plot</text>\n</svg>\n";
  const double pad = std::max((hi - lo) * 0.1, 5e-4);
  lo -= pad;
  hi += pad;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto y_of = [&](double v) { return kTop + (hi - v) / (hi - lo) * plot_h; };
  auto x_of = [&](std::size_t i) {
    return kLeft + (static_cast<double>(i) + 0.5) * plot_w / static_cast<double>(n);
  };

  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft,
      kTop, plot_w, plot_h);
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0, y = y_of(v);
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n",
                       kLeft, kLeft + plot_w, y, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4f}</text>\n", kLeft - 6,
                       y + 4, v);
  }
  svg += fmt::format(
      "<text transform=\"translate(16,{:.1f}) rotate(-90)\" text-anchor=\"middle\">test "
      "AUC</text>\n",
      kTop + plot_h / 2);
  if (summary.has_reference &&
      std::isfinite(summary.variants[summary.reference].test_auc.mean)) {
    const double y = y_of(summary.variants[summary.reference].test_auc.mean);
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#c33\" "
        "stroke-dasharray=\"6 4\"/>\n"
        "<text x=\"{}\" y=\"{:.1f}\" fill=\"#c33\" text-anchor=\"end\">{}</text>\n",
        kLeft, kLeft + plot_w, y, y, kLeft + plot_w - 4, y - 4,
        escape_html(result.variants[summary.reference].variant.name));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double x = x_of(i);
    const Spread& s = summary.variants[i].test_auc;
    const bool recommended =
        summary.recommendation.available && summary.recommendation.variant == i;
    for (std::size_t k = 0; k < result.variants[i].runs.size(); ++k) {
      const double v = result.variants[i].runs[k].test_auc;
      if (std::isfinite(v))
        svg += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"#aaa\"><title>seed {}: "
            "{:.5f}</title></circle>\n",
            x + 12, y_of(v), result.variants[i].runs[k].seed, v);
    }
    if (s.n > 0 && std::isfinite(s.std)) {
      const double y1 = y_of(s.mean - s.std), y2 = y_of(s.mean + s.std);
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#246\"/>\n",
          x, y1, y2);
      svg += fmt::format(
          "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#246\"/>\n",
          x - 5, x + 5, y1, y1);
      svg += fmt::format(
          "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#246\"/>\n",
          x - 5, x + 5, y2, y2);
    }
    if (s.n > 0)
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"><title>{}: "
          "{:.5f}</title></circle>\n",
          x, y_of(s.mean), recommended ? 6 : 4.5, recommended ? "#2a7" : "#246",
          escape_html(result.variants[i].variant.name), s.mean);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\"{}>{}</text>\n", x,
                       kTop + plot_h + 18, recommended ? " font-weight=\"bold\"" : "",
                       escape_html(result.variants[i].variant.name));
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#666\" "
        "font-size=\"10\">{}</text>\n",
        x, kTop + plot_h + 34, escape_html(result.variants[i].variant.description()));
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#666\" font-size=\"11\">dot: mean over seeds; bar: ± one "
      "seed std; grey: each "
      "seed; dashed: the reference's mean; green: recommended</text>\n",
      kLeft, kHeight - 8);
  return svg + "</svg>\n";
}

std::string html_table(const ReportTable& table) {
  std::string html = "<table>\n<tr>";
  for (const std::string& h : table.headers) html.append("<th>").append(escape_html(h)).append("</th>");
  html += "</tr>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (const std::string& cell : row) html.append("<td>").append(escape_html(cell)).append("</td>");
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

}  // namespace

std::string ablation_html(const AblationResult& result, const AblationSummary& summary) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>heed "
      "ablation</title>\n"
      "<style>\nbody{font-family:sans-serif;margin:2em;max-width:80em;color:#222}\n"
      "table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
      "th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right;white-space:nowrap}\n"
      "th:first-child,td:first-child{text-align:left}\nth{background:#f4f4f4}\n"
      ".rec{background:#eef8f0;border-left:4px solid #2a7;padding:0.6em 1em}\n"
      ".small{color:#555;font-size:0.9em}\n</style>\n</head>\n<body>\n<h1>heed ablation</h1>\n";
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
  html += svg_plot(result, summary);
  for (const ReportTable& t : report_tables(result, summary)) {
    html.append("<h2>").append(escape_html(t.title)).append("</h2>\n");
    if (!t.caption.empty())
      html.append("<p class=\"small\">").append(escape_html(t.caption)).append("</p>\n");
    html += html_table(t);
  }
  html += std::string("<h2>Rules</h2>\n<p class=\"small\">Recommendation: ") +
          escape_html(kRecommendationRule) +
          ".</p>\n<p class=\"small\">Differences: " + escape_html(kIntervalRule) +
          ".</p>\n</body>\n</html>\n";
  return html;
}

}  // namespace heed::ablate
