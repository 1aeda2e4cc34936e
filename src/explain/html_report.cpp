#include "explain/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "explain/svg.h"

namespace heed::explain {
namespace {

// Ten hues told apart at a glance (and by most colour-blind readers, in pairs of neighbours).
constexpr const char* kPalette[] = {"#3b78c2", "#e07b39", "#3a9a5b", "#c0392b", "#7b5ea7",
                                    "#8c6d31", "#d6609f", "#6b7280", "#b5a01c", "#17a2b8"};
// POSO: up to this many values share one neuron-profile chart; more get one small chart each.
constexpr std::size_t kProfilesInOneChart = 8;
constexpr std::uint64_t kMinPositionCount = 10;  // DIN: positions seen fewer times are not drawn

// The colour of item i of n: the palette while it lasts, else hues spread by the golden angle
// with alternating lightness, so no two of the n share a colour.
std::string color_of(std::size_t i, std::size_t n = std::size(kPalette)) {
  if (n <= std::size(kPalette)) return kPalette[i % std::size(kPalette)];
  const double hue = std::fmod(static_cast<double>(i) * 137.508, 360.0);
  return fmt::format("hsl({:.0f},{}%,{}%)", hue, i % 2 == 0 ? 62 : 48, i % 3 == 0 ? 42 : 52);
}

constexpr const char* kStyle = R"CSS(
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;--accent:#3b78c2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1060px;margin:0 auto;padding:28px 20px 48px}
header h1{margin:0 0 4px;font-size:26px;letter-spacing:-.01em}
.sub{color:var(--muted);margin:2px 0;font-size:14px;overflow-wrap:anywhere}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
nav{margin:14px 0 0;display:flex;gap:8px;flex-wrap:wrap}
nav a{color:var(--accent);text-decoration:none;background:var(--card);border:1px solid var(--line);border-radius:999px;padding:3px 12px;font-size:14px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:20px 0}
h2{margin:0 0 6px;font-size:20px}
h3{font-size:16px;margin:24px 0 6px}
h4{font-size:14px;margin:16px 0 6px;color:#374151}
p{margin:6px 0}
.note{color:var(--muted);font-size:14px}
.off-note{background:#f9fafb;border-left:4px solid #d1d5db;padding:10px 14px;color:#374151;border-radius:4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.mono{overflow-wrap:anywhere}
.grid2 th,.grid2 td{padding:4px 6px}
.badges{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 4px}
.badge{border-radius:8px;padding:6px 12px;border:1px solid var(--line);font-size:14px}
.badge b{margin-right:6px}
.on{background:#ecfdf5;border-color:#a7f3d0}
.off{background:#f9fafb;color:var(--muted)}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:24px}
@media (max-width:800px){.grid2{grid-template-columns:1fr}}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:10px 0}
.stat{background:#f9fafb;border-radius:8px;padding:8px 12px}
.stat b{display:block;font-size:18px;font-variant-numeric:tabular-nums}
.stat span{color:var(--muted);font-size:12px}
.chart{overflow-x:auto;margin:6px 0}
.chart svg{display:block;max-width:none}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:4px 8px}
.caution{background:#fffbeb;border-left:4px solid #f59e0b;padding:8px 12px;border-radius:4px;font-size:14px}
.sample{border-top:1px solid var(--line);padding:12px 0 10px}
.sample-head{display:flex;gap:14px;flex-wrap:wrap;align-items:baseline;font-size:13px;color:var(--muted)}
.chip{display:inline-block;background:#eef2ff;border-radius:6px;padding:1px 8px;margin:0 6px 0 0;color:var(--ink);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.history{display:flex;flex-wrap:wrap;gap:3px;margin-top:8px;align-items:stretch}
.item{min-width:58px;padding:3px 5px;border-radius:4px;font:12px/1.25 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;text-align:center;border:1px solid rgba(0,0,0,.07)}
.item .w{display:block;font-size:10px;opacity:.85;margin-top:1px}
.item.match{box-shadow:inset 0 0 0 2px #e07b39}
.ends{display:flex;justify-content:space-between;font-size:11px;color:var(--muted);margin-top:3px}
.legend{display:flex;align-items:center;gap:8px;font-size:12px;color:var(--muted);margin:8px 0}
.ramp{width:160px;height:10px;border-radius:3px;border:1px solid var(--line)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.match-swatch{display:inline-block;width:14px;height:12px;border-radius:3px;box-shadow:inset 0 0 0 2px #e07b39;vertical-align:middle}
.heat td{padding:0;border:1px solid #fff;width:18px;height:16px}
.heat th{font-size:11px;text-transform:none;padding:0 8px 0 0;border:0;text-align:right}
.nowrap{white-space:nowrap}
details{margin:8px 0}
summary{cursor:pointer;color:var(--accent);font-size:14px}
footer{color:var(--muted);font-size:13px;text-align:center;margin-top:24px}
)CSS";

std::string esc(std::string_view s) {
  return escape_html(s);
}

// An escaped name that may wrap after its underscores (new_user_class_level) in a narrow column.
std::string wrappable(std::string_view name) {
  std::string out;
  for (const char c : esc(name)) {
    out.push_back(c);
    if (c == '_') out += "<wbr>";
  }
  return out;
}

// Escaped items joined by `separator` (built by appending: GCC 12 warns falsely about
// "literal" + std::string at -O3).
std::string joined(const std::vector<std::string>& items, std::string_view separator,
                   std::string_view before = "", std::string_view after = "") {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += before;
    out += esc(item);
    out += after;
  }
  return out;
}

std::string chart_div(const std::string& svg) {
  return fmt::format("<div class=\"chart\">{}</div>", svg);
}
std::string num(double v, int digits = 3) {
  return format_number(v, digits);
}

std::string off_note(const std::string& text) {
  std::string s = "<p class=\"off-note\">";
  s += text;
  s += "</p>";
  return s;
}

std::string stat_box(const std::string& value, const std::string& label) {
  return fmt::format("<div class=\"stat\"><b>{}</b><span>{}</span></div>", value, label);
}

// --- summary ----------------------------------------------------------------------------------

std::string metrics_row(const std::string& name, const metrics::Metrics& m) {
  return fmt::format(
      "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
      name, m.rows, num(m.auc, 4), num(m.gauc, 4), num(m.logloss, 4), num(m.calibration, 3));
}

std::string summary_section(const Explanation& e) {
  const Summary& s = e.summary;
  std::string h = "<section id=\"summary\"><h2>Model</h2>";
  h += "<div class=\"badges\">";
  auto badge = [&](bool on, const char* name, const std::string& detail) {
    h += fmt::format("<div class=\"badge {}\"><b>{}</b>{}{}{}</div>", on ? "on" : "off", name,
                     on ? "on" : "off", detail.empty() ? "" : " · ", detail);
  };
  badge(s.senet, "SENet",
        s.senet ? fmt::format("axis {}, {} gate", esc(e.senet.axis), esc(e.senet.gate))
                : std::string());
  std::vector<std::string> attended;
  for (const DinReport& d : e.din) attended.push_back(d.name);
  badge(s.din, "DIN", joined(attended, ", "));
  badge(s.poso, "POSO",
        e.poso.features.empty() ? std::string()
                                : fmt::format("pc: {}", joined(e.poso.features, ", ")));
  h += "</div>";
  std::vector<std::string> widths;
  for (std::int64_t w : s.hidden) widths.push_back(std::to_string(w));
  const std::string hidden = joined(widths, " → ");
  h += fmt::format(
      "<p class=\"note\">{} features ({} with an embedding) · embedding dim {} · MLP {} → 1</p>",
      s.features.size(),
      std::count_if(s.features.begin(), s.features.end(),
                    [](const FeatureSummary& f) { return f.field >= 0; }),
      s.dim, hidden.empty() ? "(no hidden layer)" : hidden);

  h += "<div class=\"grid2\"><div><h4>Metrics on the explained rows</h4>";
  if (s.evaluation) {
    h += "<table><tr><th></th><th class=\"num\">rows</th><th class=\"num\">AUC</th><th "
         "class=\"num\">gAUC</th>"
         "<th class=\"num\">logloss</th><th class=\"num\">calibration</th></tr>";
    h += metrics_row("all", s.evaluation->overall);
    for (const auto& [value, m] : s.evaluation->slices)
      h += metrics_row(fmt::format("{} = {}", esc(s.slice_column), esc(value)), m);
    h += "</table><p class=\"note\">Calibration is mean prediction over mean label; gAUC needs "
         "eval.group.</p>";
  } else {
    h += "<p class=\"note\">The file has no label column, so there are no metrics.</p>";
  }
  h += "</div><div><h4>Features</h4><table><tr><th>feature</th><th>kind</th><th>table</"
       "th><th>pooling</th>"
       "<th class=\"num\">field</th></tr>";
  for (const FeatureSummary& f : s.features) {
    h += fmt::format(
        "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td "
        "class=\"num\">{}</td></tr>",
        wrappable(f.name), esc(f.kind), f.table.empty() ? "dense input" : wrappable(f.table), esc(f.pooling),
        f.field >= 0 ? std::to_string(f.field) : "");
  }
  h += "</table></div></div></section>";
  return h;
}

// --- SENet ------------------------------------------------------------------------------------

std::string weight_table(const std::vector<WeightStat>& weights, const char* what) {
  std::string h = fmt::format(
      "<details><summary>The numbers</summary><table><tr><th>{}</th><th class=\"num\">mean</th><th "
      "class=\"num\">std</th>"
      "<th class=\"num\">min</th><th class=\"num\">max</th></tr>",
      what);
  for (const WeightStat& w : weights)
    h += fmt::format(
        "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>",
        esc(w.name), num(w.mean, 4), num(w.std, 4), num(w.min, 4), num(w.max, 4));
  h += "</table></details>";
  return h;
}

BarChart weight_chart(const std::vector<WeightStat>& weights, const SenetReport& r,
                      const std::string& axis_label) {
  BarChart chart;
  chart.axis_label = axis_label;
  chart.title = "SENet weights: mean and standard deviation";
  double lo = 0, hi = r.gate == "sigmoid" ? 1.0 : 0.0;
  for (const WeightStat& w : weights) {
    chart.bars.push_back({w.name, w.mean, w.mean - w.std, w.mean + w.std, ""});
    lo = std::min(lo, w.mean - w.std);
    hi = std::max(hi, w.mean + w.std);
  }
  chart.axis_lo = lo;
  chart.axis_hi = hi > lo ? hi : lo + 1;
  // Enough decimals to tell the means apart.
  double smallest_gap = INFINITY;
  for (std::size_t i = 1; i < weights.size(); ++i)
    if (weights[i - 1].mean != weights[i].mean)
      smallest_gap = std::min(smallest_gap, std::abs(weights[i - 1].mean - weights[i].mean));
  if (std::isfinite(smallest_gap))
    chart.digits = std::clamp(static_cast<int>(std::ceil(-std::log10(smallest_gap))), 3, 5);
  // Weights bunched far from zero would make equal-looking bars: start the axis near them.
  double data_lo = INFINITY, data_hi = -INFINITY;
  for (const Bar& b : chart.bars)
    data_lo = std::min(data_lo, b.low), data_hi = std::max(data_hi, b.high);
  if (std::isfinite(data_lo) && data_lo > 0 && data_hi - data_lo < 0.5 * data_hi) {
    const double step = std::pow(10.0, std::floor(std::log10(std::max(data_hi - data_lo, 1e-6))));
    chart.axis_lo = std::floor(data_lo / step) * step;
    if (data_lo - chart.axis_lo < 0.25 * step)
      chart.axis_lo -= step;  // keep the shortest bar visible
    chart.axis_lo = std::max(0.0, chart.axis_lo);
    chart.axis_hi = std::ceil(data_hi / step) * step;
    if (r.gate == "sigmoid") chart.axis_hi = std::min(1.0, chart.axis_hi);
  }
  return chart;
}

std::string zoom_note(const BarChart& chart) {
  if (chart.axis_lo <= 0) return "";
  return fmt::format(
      "<p class=\"note\">The axis starts at {}, not 0, so that close weights can be told apart: "
      "compare "
      "bar ends, not lengths.</p>",
      fmt::format("{:g}", chart.axis_lo));
}

// All weights bunched together: the zoomed axis makes small gaps look large.
std::string narrow_band_caution(const std::vector<WeightStat>& weights) {
  if (!weights_in_narrow_band(weights)) return "";
  double lo = INFINITY, hi = -INFINITY;
  for (const WeightStat& w : weights) lo = std::min(lo, w.mean), hi = std::max(hi, w.mean);
  return fmt::format(
      "<p class=\"caution\"><b>Caution:</b> every mean weight lies between {} and {}, a band "
      "narrower than a quarter of the largest. The gate barely tells these apart, so the order "
      "above says little about importance; read the permutation importance below for what the "
      "predictions rest on.</p>",
      num(lo), num(hi));
}

std::string element_heatmap(const SenetReport& r) {
  double lo = INFINITY, hi = -INFINITY;
  for (const WeightStat& w : r.fields)
    for (double v : w.dim_means) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) return "";
  const double span = hi > lo ? hi - lo : 1.0;
  std::string h =
      "<h4>Mean weight of every element (rows: fields, ranked; columns: embedding dimensions)</h4>"
      "<div class=\"chart\"><table class=\"heat\">";
  for (const WeightStat& w : r.fields) {
    h += fmt::format("<tr><th class=\"mono\">{}</th>", esc(w.name));
    for (std::size_t d = 0; d < w.dim_means.size(); ++d)
      h += fmt::format("<td style=\"background:{}\" title=\"{} dim {}: {}\"></td>",
                       shade((w.dim_means[d] - lo) / span), esc(w.name), d, num(w.dim_means[d], 4));
    h += "</tr>";
  }
  h += fmt::format(
      "</table></div><div class=\"legend\">{}<span class=\"ramp\" "
      "style=\"background:linear-gradient(90deg,{},{},{})\">"
      "</span>{}</div>",
      num(lo), shade(0), shade(0.5), shade(1), num(hi));
  return h;
}

std::string senet_section(const Explanation& e) {
  const SenetReport& r = e.senet;
  std::string h = "<section id=\"senet\"><h2>SENet field importance</h2>";
  if (!r.enabled) {
    h += off_note(
        "SENet is off in this model (<code>senet.enabled = false</code>): every field enters the "
        "MLP "
        "unweighted, so there is no field importance to show.");
    return h + "</section>";
  }
  const std::string gate_text =
      r.gate == "sigmoid" ? "a sigmoid gate, so every weight lies in (0, 1)"
      : r.gate == "relu"  ? "a ReLU gate, so weights are ≥ 0"
                          : "no gate: weights are the raw excitation output";
  h += fmt::format(
      "<p>SENet multiplies each field's embedding by a weight it computes per row ({}; squeeze {}, "
      "reduction {}). Over the {} explained rows:</p>",
      esc(gate_text), esc(r.squeeze), r.reduction, e.summary.rows);
  if (r.axis == "dim") {
    h += "<p class=\"note\"><b>axis = dim</b>: one weight per embedding dimension, shared by every "
         "gated field, so "
         "this model has no per-field importance. Bars: mean weight of each dimension, whiskers ± "
         "one standard "
         "deviation across rows.</p>";
    const BarChart chart =
        weight_chart(r.dims, r, "weight of the dimension (mean ± std over rows)");
    h += chart_div(horizontal_bars(chart));
    h += zoom_note(chart);
    h += narrow_band_caution(r.dims);
    h += weight_table(r.dims, "dimension");
    return h + "</section>";
  }
  if (r.axis == "element")
    h += "<p class=\"note\"><b>axis = element</b>: one weight per element; a field's weight in a "
         "row is the mean of its "
         "elements' weights. Fields are ranked by that mean; whiskers show ± one standard "
         "deviation across rows.</p>";
  else
    h += "<p class=\"note\">Fields ranked by their mean weight; a higher weight means the model "
         "amplifies the field. "
         "Whiskers show ± one standard deviation across rows (how much the weight depends on the "
         "row).</p>";
  const BarChart chart = weight_chart(r.fields, r, "field weight (mean ± std over rows)");
  h += chart_div(horizontal_bars(chart));
  h += zoom_note(chart);
  h += narrow_band_caution(r.fields);
  h += weight_table(r.fields, "field");
  if (r.axis == "element") h += element_heatmap(r);
  return h + "</section>";
}

// --- permutation importance -------------------------------------------------------------------

std::string importance_section(const Explanation& e) {
  const PermutationReport& r = e.importance;
  std::string h = "<section id=\"importance\"><h2>Field importance by permutation</h2>";
  if (!r.available) return h + off_note(fmt::format("Not measured: {}.", esc(r.reason))) + "</section>";
  h += fmt::format(
      "<p>For each field, its values are shuffled across the {} explained rows (every other "
      "column left in place) and the rows scored again: the drop in AUC and the rise in logloss "
      "say how much the predictions rest on that field. {} shuffles per field (seed {}); whiskers "
      "and ± show the standard deviation over the shuffles. AUC of the rows as they are: {}, "
      "logloss {}.</p>",
      e.summary.rows, r.shuffles, r.seed, num(r.auc, 4), num(r.logloss, 4));
  h += "<p class=\"note\"><b>Which measure to read for what.</b> To ask which fields the model's "
       "predictions depend on (which to keep, which carry nothing), read the permutation "
       "importance: it measures the accuracy lost without the field, whatever layer uses it. "
       "A drop within its spread of zero means the model does not use the field on these rows. "
       "SENet's mean weight says how strongly the gate scales a field's embedding inside the "
       "network; the embedding's own scale and the layers after it can make up for any weight, "
       "so a high weight is not proof of use and the weights' order is not an importance "
       "ranking. Read it to see what SENet does, not what the model needs.</p>";
  BarChart chart;
  chart.title = "Permutation importance: drop in AUC when the field is shuffled";
  chart.axis_label = "drop in AUC when the field is shuffled (mean ± std over shuffles)";
  double lo = 0, hi = 0;
  for (const FieldImportance& f : r.fields) {
    chart.bars.push_back({f.name, f.auc_drop_mean, f.auc_drop_mean - f.auc_drop_std,
                          f.auc_drop_mean + f.auc_drop_std, ""});
    lo = std::min(lo, f.auc_drop_mean - f.auc_drop_std);
    hi = std::max(hi, f.auc_drop_mean + f.auc_drop_std);
  }
  chart.axis_lo = lo;
  chart.axis_hi = hi > lo ? hi : lo + 1e-3;
  chart.digits = 4;
  h += chart_div(horizontal_bars(chart));
  h += "<table><tr><th>field</th><th class=\"num\">AUC drop</th><th class=\"num\">logloss "
       "rise</th><th class=\"num\">SENet mean weight</th><th class=\"num\">SENet rank</th></tr>";
  for (const FieldImportance& f : r.fields) {
    std::string weight = "–", rank = "–";
    for (std::size_t k = 0; k < e.senet.fields.size(); ++k)
      if (f.features.size() == 1 && e.senet.fields[k].name == f.features[0]) {
        weight = num(e.senet.fields[k].mean);
        rank = fmt::format("{} of {}", k + 1, e.senet.fields.size());
      }
    h += fmt::format(
        "<tr><td class=\"mono\">{}</td><td class=\"num\">{} ± {}</td><td class=\"num\">{} ± "
        "{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        esc(f.name), num(f.auc_drop_mean, 4), num(f.auc_drop_std, 4), num(f.logloss_rise_mean, 4),
        num(f.logloss_rise_std, 4), weight, rank);
  }
  h += "</table><p class=\"note\">Ranked by AUC drop. A history and the companions it is "
       "attended with are shuffled together, so their items stay paired.</p>";
  return h + "</section>";
}

// --- DIN --------------------------------------------------------------------------------------

std::string din_sample(const DinReport& r, const DinSample& s, double lo, double hi) {
  const double span = hi > lo ? hi - lo : 1.0;
  std::string h = "<div class=\"sample\"><div class=\"sample-head\">";
  h += fmt::format("<span>row {} · line {}</span>", s.row, s.line);
  if (!s.pc_value.empty()) h += fmt::format("<span>pc: <b>{}</b></span>", esc(s.pc_value));
  if (s.label) h += fmt::format("<span>clicked: <b>{}</b></span>", *s.label > 0.5f ? "yes" : "no");
  h += fmt::format("<span>predicted: <b>{}</b></span><span>{} history items</span></div>",
                   num(s.score), s.history.size());
  h += "<div style=\"margin-top:6px\">candidate ";
  for (std::size_t k = 0; k < s.query.size() && k < r.query_features.size(); ++k)
    h += fmt::format("<span class=\"chip\">{} = {}</span>", esc(r.query_features[k]),
                     esc(s.query[k]));
  h += "</div><div class=\"history\">";
  for (const DinItem& item : s.history) {
    const double t = (item.weight - lo) / span;
    // An item equal to the candidate: same raw value as the query of the same position.
    bool match = false;
    for (std::size_t k = 0; k < item.values.size() && k < s.query.size(); ++k)
      for (const DinMatch& m : r.matches)
        if (m.key_feature == r.key_features[k] && item.values[k] == s.query[k]) match = true;
    const std::string values = joined(item.values, "<br>");
    h += fmt::format(
        "<div class=\"item{}\" style=\"background:{};color:{}\" title=\"weight {}\">{}<span "
        "class=\"w\">{}</span></div>",
        match ? " match" : "", shade(t), text_on_shade(t), num(item.weight, 4), values,
        num(item.weight));
  }
  h += "</div><div class=\"ends\"><span>← oldest</span><span>most recent →</span></div></div>";
  return h;
}

const char* din_weights_meaning(const std::string& normalize) {
  if (normalize == "softmax") return "a softmax over the row's history (they sum to 1)";
  if (normalize == "mean")
    return "the activation unit's raw scores divided by the history's length (they need not sum to 1)";
  if (normalize == "sqrtn")
    return "the activation unit's raw scores divided by the square root of the history's length";
  return "the activation unit's raw scores (as in the DIN paper; they need not sum to 1)";
}

std::string din_attention(const DinReport& r, const Summary& summary) {
  const std::string keys = joined(r.key_features, " + "), queries = joined(r.query_features, " + ");
  std::string h = fmt::format(
      "<h3><code>{}</code> attended with the candidate <code>{}</code></h3>", keys, queries);
  h += fmt::format("<p class=\"note\">Weights are {}. Max length {}.</p>",
                   din_weights_meaning(r.normalize),
                   r.max_len > 0 ? std::to_string(r.max_len) : std::string("unlimited"));
  h += "<div class=\"stats\">";
  h += stat_box(fmt::format("{} / {}", summary.rows - r.empty_rows, summary.rows),
                "rows with a history");
  h += stat_box(num(r.length.mean(), 1), "mean history length");
  h += stat_box(fmt::format("{} <small>± {}</small>", num(r.weight.mean()), num(r.weight.stddev())),
                "weight of an item (mean ± std)");
  h += stat_box(num(r.row_sum.mean()), "sum of a row's weights (mean)");
  h += "</div>";
  for (const DinMatch& m : r.matches) {
    if (m.match.count() == 0) {
      h += fmt::format(
          "<p>No history item of <code>{}</code> equals the candidate's <code>{}</code> in the "
          "explained rows.</p>",
          esc(m.key_feature), esc(m.query_feature));
      continue;
    }
    h += fmt::format(
        "<p>Items whose <code>{}</code> equals the candidate's <code>{}</code>: mean weight "
        "<b>{}</b> "
        "({} items) against <b>{}</b> for the others ({} items).</p>",
        esc(m.key_feature), esc(m.query_feature), num(m.match.mean()), m.match.count(),
        num(m.other.mean()), m.other.count());
  }
  // Mean weight by position from the most recent item, while enough rows reach that far.
  Series mean{"mean weight", color_of(0), {}, {}, {}};
  for (const RunningStat& p : r.by_recency) {
    if (p.count() < kMinPositionCount) break;
    mean.y.push_back(p.mean());
    mean.lo.push_back(p.mean() - p.stddev());
    mean.hi.push_back(p.mean() + p.stddev());
  }
  if (!mean.y.empty()) {
    LineChart chart;
    chart.series.push_back(mean);
    chart.x_label = "position in the history (0 = most recent item)";
    chart.y_label = "weight";
    chart.title = "DIN weight by position from the most recent item";
    chart.points = mean.y.size() <= 60;
    h += "<h4>Weight by position from the most recent item (band: ± one standard deviation)</h4>";
    h += chart_div(line_chart(chart));
  }
  if (r.samples.empty()) return h + "<p class=\"note\">No explained row has a history to show.</p>";
  double lo = 0, hi = 0;
  for (const DinSample& s : r.samples)
    for (const DinItem& item : s.history)
      lo = std::min(lo, item.weight), hi = std::max(hi, item.weight);
  h += fmt::format("<h4>{} sampled rows</h4>", r.samples.size());
  h += fmt::format(
      "<div class=\"legend\">weight {}<span class=\"ramp\" "
      "style=\"background:linear-gradient(90deg,{},{},{})\">"
      "</span>{} <span style=\"margin-left:16px\" class=\"match-swatch\"></span> same value as the "
      "candidate</div>",
      num(lo), shade(0), shade(0.5), shade(1), num(hi));
  for (const DinSample& s : r.samples) h += din_sample(r, s, lo, hi);
  return h;
}

std::string din_section(const Explanation& e) {
  std::string h = "<section id=\"din\"><h2>DIN target attention</h2>";
  if (e.din.empty()) {
    h += off_note(
        "DIN is off in this model: no feature has <code>pooling = \"din\"</code>, so behaviour "
        "sequences are "
        "pooled by sum or mean, with the same weight for every item whatever the candidate.");
    return h + "</section>";
  }
  h += "<p>DIN pools a behaviour sequence with weights computed from the candidate item: items "
       "related to the candidate "
       "should weigh more. Each history item below is shaded by its weight; the darker, the more "
       "it counts.</p>";
  for (const DinReport& r : e.din) h += din_attention(r, e.summary);
  return h + "</section>";
}

// --- POSO -------------------------------------------------------------------------------------

std::string poso_layer(const PosoLayer& layer, const PosoReport& r) {
  std::string h = fmt::format("<h3>Hidden layer {} <span class=\"note\">({} neurons)</span></h3>",
                              layer.layer, layer.width);
  if (!layer.gated) return h + "<p class=\"note\">Not gated (poso.layers leaves it out).</p>";
  const std::size_t values = layer.values.size();
  // Every value's strip and histogram share one range: the gates' observed range, padded.
  double lo = INFINITY, hi = -INFINITY;
  for (const PosoValue& v : layer.values)
    if (v.rows > 0) lo = std::min(lo, v.gate.min()), hi = std::max(hi, v.gate.max());
  if (!std::isfinite(lo)) lo = 0, hi = r.scale;
  const double pad = std::max(hi - lo, 1e-3) * 0.05;
  lo = std::max(0.0, lo - pad);
  hi = std::min(r.scale, hi + pad);
  h += fmt::format(
      "<table><tr><th>value</th><th class=\"num\">rows</th><th class=\"num\">mean gate</th><th "
      "class=\"num\">std</th>"
      "<th>gate values: p05–p95, box p25–p75, median, ○ mean</th><th>histogram, {} to {}</th></tr>",
      num(lo, 2), num(hi, 2));
  for (std::size_t i = 0; i < layer.values.size(); ++i) {
    const PosoValue& v = layer.values[i];
    if (v.rows == 0) continue;
    const Histogram& hist = v.histogram;
    const Quantiles q{hist.quantile(0.05), hist.quantile(0.25), hist.quantile(0.5),
                      hist.quantile(0.75), hist.quantile(0.95), v.gate.mean()};
    h += fmt::format(
        "<tr><td class=\"nowrap\"><span class=\"swatch\" "
        "style=\"background:{}\"></span><b>{}</b></td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
        color_of(i, values), esc(v.value), v.rows, num(v.gate.mean()), num(v.gate.stddev()),
        quantile_strip(q, lo, hi, 320, 34, color_of(i, values)),
        sparkline_histogram(hist.zoomed(lo, hi, 48).counts(), 200, 30, color_of(i, values)));
  }
  h += "</table>";
  if (!layer.differences.empty()) {
    // Every pair: folded away when there are many, so the profiles stay in view.
    h += layer.differences.size() > 15
             ? fmt::format("<details><summary>How different the gates are ({} pairs of values)"
                           "</summary>",
                           layer.differences.size())
             : std::string("<h4>How different the gates are</h4><div>");
    h += "<table><tr><th>values</th><th class=\"num\">mean |Δ| of mean gates</th>"
         "<th class=\"num\">largest |Δ|</th><th class=\"num\">at neuron</th></tr>";
    for (const PosoDifference& d : layer.differences)
      h += fmt::format(
          "<tr><td>{} vs {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
          "class=\"num\">{}</td></tr>",
          esc(d.a), esc(d.b), num(d.mean_abs), num(d.max_abs), d.max_neuron);
    h += "</table><p class=\"note\">For each neuron, the mean gate over the rows of each value; "
         "|Δ| is the absolute "
         "difference between two values' means, averaged over the layer's neurons.</p>";
    h += layer.differences.size() > 15 ? "</details>" : "</div>";
  }
  // Neuron profiles of every value with rows: neurons sorted by the gap between the two most
  // frequent values, so the neurons that tell them apart sit at the two ends.
  std::vector<std::size_t> shown;
  for (std::size_t i = 0; i < values; ++i)
    if (layer.values[i].rows > 0) shown.push_back(i);
  if (shown.empty()) return h;
  std::vector<std::size_t> by_rows = shown;
  std::stable_sort(by_rows.begin(), by_rows.end(),
                   [&](auto a, auto b) { return layer.values[a].rows > layer.values[b].rows; });
  std::vector<std::size_t> order(static_cast<std::size_t>(layer.width));
  std::iota(order.begin(), order.end(), std::size_t{0});
  const PosoValue& most = layer.values[by_rows[0]];
  const PosoValue& next = layer.values[by_rows.size() > 1 ? by_rows[1] : by_rows[0]];
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
    return most.neuron_means[a] - next.neuron_means[a] < most.neuron_means[b] - next.neuron_means[b];
  });
  const std::string sorted_by =
      shown.size() > 1 ? fmt::format("neurons, sorted by mean gate ({}) − mean gate ({})",
                                     most.value, next.value)
                       : std::string("neurons");
  auto profile = [&](std::size_t i) {
    Series se{layer.values[i].value, color_of(i, values), {}, {}, {}};
    for (std::size_t n : order) se.y.push_back(layer.values[i].neuron_means[n]);
    return se;
  };
  if (shown.size() <= kProfilesInOneChart) {
    LineChart chart;
    chart.title = "POSO mean gate per neuron";
    chart.y_label = "mean gate";
    chart.x_label = sorted_by;
    for (std::size_t i : shown) chart.series.push_back(profile(i));  // colours follow the table
    h += "<h4>Mean gate of every neuron, per value</h4>";
    h += chart_div(line_chart(chart));
    return h;
  }
  // Many values: one small chart per value against the mean over every row (grey), all on the
  // same y range, in the table's order.
  Series all{"all rows", "#9ca3af", std::vector<double>(order.size(), 0.0), {}, {}};
  std::uint64_t total = 0;
  double y_lo = INFINITY, y_hi = -INFINITY;
  for (std::size_t i : shown) {
    const PosoValue& v = layer.values[i];
    total += v.rows;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const double m = v.neuron_means[order[k]];
      all.y[k] += m * static_cast<double>(v.rows);
      y_lo = std::min(y_lo, m), y_hi = std::max(y_hi, m);
    }
  }
  for (double& y : all.y) y /= static_cast<double>(total);
  h += fmt::format(
      "<h4>Mean gate of every neuron, one chart per value ({} values)</h4><p class=\"note\">Grey: "
      "the mean over every row. Every chart has the same axes: {}.</p><div class=\"multiples\">",
      shown.size(), esc(sorted_by));
  for (std::size_t i : shown) {
    LineChart chart;
    chart.title = fmt::format("POSO mean gate per neuron, {}", layer.values[i].value);
    chart.y_label = "mean gate";
    chart.x_label = "neurons";
    chart.width = 320;
    chart.height = 170;
    chart.y_lo = y_lo;
    chart.y_hi = y_hi;
    chart.series.push_back(all);
    chart.series.push_back(profile(i));
    chart.series.back().name = layer.values[i].value;
    h += chart_div(line_chart(chart));
  }
  h += "</div>";
  return h;
}

std::string poso_section(const Explanation& e) {
  const PosoReport& r = e.poso;
  std::string h = "<section id=\"poso\"><h2>POSO personalized gates</h2>";
  if (!r.enabled) {
    h += off_note(
        "POSO is off in this model (<code>poso.enabled = false</code>): every row uses the MLP's "
        "neurons "
        "unscaled, whatever the user.");
    return h + "</section>";
  }
  const std::string pc = joined(r.features, ", ", "<code>", "</code>");
  h += fmt::format(
      "<p>Gate networks read the personalization features {}{} and scale each gated hidden layer's "
      "neurons "
      "by gates in (0, {}); a gate of 1 leaves a neuron as it is. Below, gate values grouped by "
      "the rows' raw "
      "value of {}.</p>",
      pc, r.all_fields ? " (plus a stop-gradient copy of every field)" : "", num(r.scale, 1), pc);
  if (r.pooled_values > 0)
    h += fmt::format(
        "<p class=\"note\">The rows hold more distinct values than a page can show one by one: the "
        "{} rarest are pooled as <code>(other)</code>.</p>",
        r.pooled_values);
  for (const PosoLayer& layer : r.layers) h += poso_layer(layer, r);
  return h + "</section>";
}

}  // namespace

std::string render_html(const Explanation& e) {
  const Summary& s = e.summary;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>heed explain: ";
  h += esc(s.model_path);
  h += "</title><style>";
  h += kStyle;
  h += "</style></head><body><main><header><h1>What the model learned</h1>";
  h += fmt::format("<p class=\"sub\">model <code>{}</code>", esc(s.model_path));
  if (s.meta.contains("epoch")) h += fmt::format(" · epoch {}", esc(s.meta["epoch"].dump()));
  if (s.meta.contains("trained_at") && s.meta["trained_at"].is_string())
    h += fmt::format(" · trained {}", esc(s.meta["trained_at"].get<std::string>()));
  h += fmt::format("</p><p class=\"sub\">data <code>{}</code> · {} of its {} rows explained</p>",
                   esc(s.data_path), s.rows, s.file_rows);
  h += "<nav><a href=\"#summary\">Model</a><a href=\"#senet\">SENet</a><a href=\"#importance\">Importance</a><a href=\"#din\">DIN</a><a "
       "href=\"#poso\">POSO</a></nav>"
       "</header>";
  h += summary_section(e);
  h += senet_section(e);
  h += importance_section(e);
  h += din_section(e);
  h += poso_section(e);
  h += "<footer>Written by <code>heed explain</code>. The JSON file beside this page holds the "
       "same numbers.</footer>";
  h += "</main></body></html>\n";
  return h;
}

}  // namespace heed::explain
