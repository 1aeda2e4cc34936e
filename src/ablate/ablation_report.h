#pragma once
// The reports of an ablation: OUT/ablation.md (tables and the recommendation), OUT/ablation.json
// (every figure: per seed, mean, spread, differences to plain, slices, time, parameters) and
// OUT/ablation.html (a self-contained page: the tables and an inline SVG plot of test AUC).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ablate/ablation.h"
#include "ablate/ablation_summary.h"

namespace heed::ablate {

// A table both renderers share: the Markdown and the HTML page show the same cells.
struct ReportTable {
  std::string id;  // "main", "spread", "slices" or "runs"
  std::string title;
  std::string caption;  // a sentence under the title (may be empty)
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

// Every table of the report, the main one (one row per variant) first.
std::vector<ReportTable> report_tables(const AblationResult& result,
                                       const AblationSummary& summary);

std::string markdown_table(const ReportTable& table);
std::string ablation_markdown(const AblationResult& result, const AblationSummary& summary);
nlohmann::ordered_json ablation_json(const AblationResult& result, const AblationSummary& summary);
std::string ablation_html(const AblationResult& result, const AblationSummary& summary);

// Writes ablation.md, ablation.json and ablation.html into `out`.
void write_ablation_reports(const std::filesystem::path& out, const AblationResult& result,
                            const AblationSummary& summary);

}  // namespace heed::ablate
