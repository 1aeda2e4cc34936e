#include "ablate/ablation_report.h"

#include <cctype>
#include <cmath>

#include "checkpoint/checkpoint.h"
#include "core/error.h"

namespace heed::ablate {
namespace {

using Json = nlohmann::ordered_json;

std::string number(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("n/a");
}

std::string signed_number(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:+.{}f}", v, digits) : std::string("n/a");
}

// "0.78123 ± 0.00110", or the mean alone when there is no std (one seed).
std::string mean_std(const Spread& s, int digits = 5) {
  if (s.n == 0) return "n/a";
  if (!std::isfinite(s.std)) return number(s.mean, digits);
  return number(s.mean, digits) + " ± " + number(s.std, digits);
}

std::string min_max(const Spread& s, int digits = 5) {
  if (s.n == 0) return "n/a";
  return number(s.min, digits) + " – " + number(s.max, digits);
}

// "+0.01234 [+0.00100, +0.02368]"; with one pair "+0.01234 (no interval: 1 seed)".
std::string diff_text(const PairedDiff& d, int digits = 5) {
  if (d.n == 0) return "n/a";
  if (!d.has_interval()) return signed_number(d.mean, digits) + " (no interval: 1 seed)";
  return signed_number(d.mean, digits) + " [" + signed_number(d.low, digits) + ", " +
         signed_number(d.high, digits) + "]";
}

std::string seeds_text(const std::vector<std::uint64_t>& seeds) {
  std::string text;
  for (std::uint64_t s : seeds) {
    if (!text.empty()) text += ", ";
    text += std::to_string(s);
  }
  return text;
}

std::string validation_text(const Config& c) {
  if (!c.data.valid.empty()) return std::string("the file ") + c.data.valid;
  std::string text = fmt::format("{:.0f}% of {} held out by a stable hash of ",
                                 c.data.valid_fraction * 100, c.data.train);
  text += c.data.valid_by.empty() ? std::string("the row") : c.data.valid_by;
  return text;
}

Json number_json(double v) {
  return std::isfinite(v) ? Json(v) : Json();
}

Json spread_json(const Spread& s) {
  return Json{{"n", s.n},
              {"mean", number_json(s.mean)},
              {"std", number_json(s.std)},
              {"min", number_json(s.min)},
              {"max", number_json(s.max)}};
}

Json diff_json(const PairedDiff& d) {
  return Json{{"n", d.n},
              {"mean", number_json(d.mean)},
              {"std", number_json(d.std)},
              {"low", number_json(d.low)},
              {"high", number_json(d.high)}};
}

std::vector<std::string> module_names(const Variant& v) {
  std::vector<std::string> names;
  for (Module m : v.modules) names.emplace_back(to_string(m));
  return names;
}

}  // namespace

std::vector<ReportTable> report_tables(const AblationResult& result,
                                       const AblationSummary& summary) {
  std::vector<ReportTable> tables;
  const std::string seeds =
      fmt::format("{} seed{}", result.seeds.size(), result.seeds.size() == 1 ? "" : "s");

  const std::string ref_name = summary.has_reference
                                   ? result.variants[summary.reference].variant.name
                                   : std::string(result.reference);
  const std::string vs = " vs " + ref_name;

  ReportTable main;
  main.id = "main";
  main.title = "Test metrics per variant";
  main.caption = fmt::format(
      "Mean ± sample std over {}. Δ = variant − {} on the same seed, averaged, with its 95% "
      "paired t-interval "
      "[low, high]. Training time is the sum of the epochs' seconds (mean per run); parameters = "
      "dense parameters "
      "+ embedding rows × embedding.dim.",
      seeds, ref_name);
  main.headers = {"variant",   "modules",        "test AUC",     "Δ AUC" + vs,
                  "test gAUC", "Δ gAUC" + vs,    "test logloss", "Δ logloss" + vs,
                  "valid AUC", "valid logloss",  "train s",      "parameters"};
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const Variant& v = result.variants[i].variant;
    const VariantSummary& s = summary.variants[i];
    const std::string ref = "(reference)";
    main.rows.push_back({v.name, v.description(), mean_std(s.test_auc),
                         s.has_diff ? diff_text(s.diff_test_auc) : ref, mean_std(s.test_gauc),
                         s.has_diff ? diff_text(s.diff_test_gauc) : ref, mean_std(s.test_logloss),
                         s.has_diff ? diff_text(s.diff_test_logloss) : ref, mean_std(s.valid_auc),
                         mean_std(s.valid_logloss), number(s.train_seconds.mean, 1),
                         count_text(s.parameters.mean)});
  }
  tables.push_back(std::move(main));

  ReportTable range;
  range.id = "spread";
  range.title = "Spread over seeds (min – max)";
  range.headers = {"variant",      "test AUC",  "test gAUC",
                   "test logloss", "valid AUC", "Δ valid AUC" + vs};
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const VariantSummary& s = summary.variants[i];
    range.rows.push_back({result.variants[i].variant.name, min_max(s.test_auc),
                          min_max(s.test_gauc), min_max(s.test_logloss), min_max(s.valid_auc),
                          s.has_diff ? diff_text(s.diff_valid_auc) : "(reference)"});
  }
  tables.push_back(std::move(range));

  if (!summary.slice_values.empty()) {
    ReportTable slices;
    slices.id = "slices";
    slices.title = std::string("Test AUC per ") + result.slice;
    slices.caption = "Mean ± std over " + seeds +
                     " of the test AUC of the rows with each value of " + result.slice +
                     ", and its Δ" + vs + " paired by seed, as above.";
    slices.headers = {"variant"};
    for (const std::string& value : summary.slice_values) {
      slices.headers.push_back(result.slice + " = " + value);
      slices.headers.push_back("Δ" + vs);
    }
    for (std::size_t i = 0; i < result.variants.size(); ++i) {
      const VariantSummary& s = summary.variants[i];
      std::vector<std::string> row = {result.variants[i].variant.name};
      for (std::size_t k = 0; k < s.slice_auc.size(); ++k) {
        row.push_back(mean_std(s.slice_auc[k].second));
        row.push_back(s.has_diff ? diff_text(s.diff_slice_auc[k].second) : "(reference)");
      }
      slices.rows.push_back(std::move(row));
    }
    tables.push_back(std::move(slices));
  }

  ReportTable runs;
  runs.id = "runs";
  runs.title = "Runs";
  runs.caption = "One row per run folder; `reused` runs were finished by an earlier invocation.";
  runs.headers = {"variant",    "seed",   "valid AUC", "test AUC", "test gAUC", "test logloss",
                  "best epoch", "epochs", "train s",   "status",   "folder"};
  for (const VariantResult& v : result.variants)
    for (const RunResult& r : v.runs)
      runs.rows.push_back({v.variant.name, std::to_string(r.seed), number(r.valid_auc, 5),
                           number(r.test_auc, 5), number(r.test_gauc, 5), number(r.test_logloss, 5),
                           std::to_string(r.best_epoch), std::to_string(r.epochs_run),
                           number(r.train_seconds, 1), r.status, r.dir});
  tables.push_back(std::move(runs));
  return tables;
}

std::string markdown_table(const ReportTable& table) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string text = "|";
    for (const std::string& c : cells) {
      std::string cell = c;
      for (std::size_t i = 0; (i = cell.find('|', i)) != std::string::npos; i += 2)
        cell.replace(i, 1, "\\|");
      text += std::string(" ") + cell + " |";
    }
    return text + "\n";
  };
  // Columns of figures are right-aligned; a column is one when every cell starts like a number.
  auto figure = [](const std::string& cell) {
    return !cell.empty() && (std::isdigit(static_cast<unsigned char>(cell[0])) || cell[0] == '+' ||
                             cell[0] == '-' || cell == "n/a" || cell == "(reference)");
  };
  std::string text = line(table.headers);
  text += "|";
  for (std::size_t i = 0; i < table.headers.size(); ++i) {
    bool right = !table.rows.empty();
    for (const auto& row : table.rows) right = right && i < row.size() && figure(row[i]);
    text += right ? "---:|" : "---|";
  }
  text += "\n";
  for (const auto& row : table.rows) text += line(row);
  return text;
}

std::string ablation_markdown(const AblationResult& result, const AblationSummary& summary) {
  std::string md = "# Ablation\n\n";
  std::string full;
  for (const VariantResult& v : result.variants)
    if (v.variant.name == "full") full = v.variant.description();
  md += fmt::format("- modules enabled by the config: {}\n",
                    full.empty() ? std::string("(full not run)") : full);
  md += fmt::format("- seeds: {} (train.seed); threads: {}\n", seeds_text(result.seeds),
                    result.base.train.threads == 0 ? std::string("every core")
                                                   : std::to_string(result.base.train.threads));
  md += fmt::format(
      "- validation: {}; early stopping on validation {} (patience {}, at most {} epochs)\n",
      validation_text(result.base), choice_name(result.base.train.early_stop_metric), result.base.train.patience,
      result.base.train.epochs);
  md +=
      "- the test split is only reported: early stopping and the recommendation read validation\n";
  for (const std::string& note : result.notes) md += std::string("- note: ") + note + "\n";
  for (const ReportTable& t : report_tables(result, summary)) {
    md += std::string("\n## ") + t.title + "\n\n";
    if (!t.caption.empty()) md += t.caption + "\n\n";
    md += markdown_table(t);
  }
  md += std::string("\n## Recommendation\n\n") + summary.recommendation.text + "\n\n";
  md += std::string("Rule: ") + kRecommendationRule + ".\n\n";
  md += std::string("Differences: ") + kIntervalRule + ".\n";
  return md;
}

Json ablation_json(const AblationResult& result, const AblationSummary& summary) {
  Json j;
  j["seeds"] = result.seeds;
  j["threads"] = result.base.train.threads;
  j["slice"] = result.slice.empty() ? Json() : Json(result.slice);
  j["slice_values"] = summary.slice_values;
  j["validation"] = validation_text(result.base);
  j["early_stop_metric"] = choice_name(result.base.train.early_stop_metric);
  j["notes"] = result.notes;
  j["reference"] =
      summary.has_reference ? Json(result.variants[summary.reference].variant.name) : Json();
  j["interval"] = kIntervalRule;
  j["recommendation_rule"] = kRecommendationRule;
  Json variants = Json::array();
  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const VariantResult& v = result.variants[i];
    const VariantSummary& s = summary.variants[i];
    Json jv;
    jv["name"] = v.variant.name;
    jv["description"] = v.variant.description();
    jv["modules"] = module_names(v.variant);
    Json runs = Json::array();
    for (const RunResult& r : v.runs) {
      Json slices = Json::object();
      for (const auto& [value, auc] : r.slice_auc) slices[value] = number_json(auc);
      runs.push_back(Json{{"seed", r.seed},
                          {"dir", r.dir},
                          {"status", r.status},
                          {"valid",
                           {{"auc", number_json(r.valid_auc)},
                            {"logloss", number_json(r.valid_logloss)}}},
                          {"test",
                           {{"auc", number_json(r.test_auc)},
                            {"gauc", number_json(r.test_gauc)},
                            {"logloss", number_json(r.test_logloss)}}},
                          {"slice_auc", slices},
                          {"train_seconds", r.train_seconds},
                          {"dense_parameters", r.dense_parameters},
                          {"embedding_rows", r.embedding_rows},
                          {"parameters", r.parameters},
                          {"best_epoch", r.best_epoch},
                          {"epochs_run", r.epochs_run}});
    }
    jv["runs"] = runs;
    jv["valid"] = Json{{"auc", spread_json(s.valid_auc)},
                       {"logloss", spread_json(s.valid_logloss)}};
    jv["test"] = Json{{"auc", spread_json(s.test_auc)},
                      {"gauc", spread_json(s.test_gauc)},
                      {"logloss", spread_json(s.test_logloss)}};
    Json slices = Json::object();
    for (const auto& [value, spread] : s.slice_auc) slices[value] = spread_json(spread);
    jv["slice_auc"] = slices;
    if (s.has_diff) {
      Json slice_diffs = Json::object();
      for (const auto& [value, d] : s.diff_slice_auc) slice_diffs[value] = diff_json(d);
      jv["vs_reference"] = Json{{"valid_auc", diff_json(s.diff_valid_auc)},
                                {"valid_logloss", diff_json(s.diff_valid_logloss)},
                                {"test_auc", diff_json(s.diff_test_auc)},
                                {"test_gauc", diff_json(s.diff_test_gauc)},
                                {"test_logloss", diff_json(s.diff_test_logloss)},
                                {"slice_auc", slice_diffs}};
    } else {
      jv["vs_reference"] = Json();
    }
    jv["train_seconds"] = spread_json(s.train_seconds);
    jv["parameters"] = number_json(s.parameters.mean);
    variants.push_back(std::move(jv));
  }
  j["variants"] = variants;
  const Recommendation& rec = summary.recommendation;
  Json jr;
  jr["variant"] = rec.available ? Json(result.variants[rec.variant].variant.name) : Json();
  jr["best"] = rec.available ? Json(result.variants[rec.best].variant.name) : Json();
  Json in_noise = Json::array();
  for (std::size_t i : rec.in_noise) in_noise.push_back(result.variants[i].variant.name);
  jr["within_noise"] = in_noise;
  jr["noise"] = number_json(rec.noise);
  jr["lowest_logloss"] =
      rec.has_logloss ? Json(result.variants[rec.lowest_logloss].variant.name) : Json();
  Json worse = Json::array();
  for (std::size_t i : rec.worse_logloss) worse.push_back(result.variants[i].variant.name);
  jr["worse_logloss"] = worse;
  jr["text"] = rec.text;
  j["recommendation"] = jr;
  return j;
}

void write_ablation_reports(const std::filesystem::path& out, const AblationResult& result,
                            const AblationSummary& summary) {
  std::filesystem::create_directories(out);
  write_file_atomically(out / "ablation.md", ablation_markdown(result, summary));
  write_file_atomically(out / "ablation.json", ablation_json(result, summary).dump(2) + "\n");
  write_file_atomically(out / "ablation.html", ablation_html(result, summary));
}

}  // namespace heed::ablate
