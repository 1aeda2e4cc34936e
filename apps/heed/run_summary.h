#pragma once
// What `heed train` prints when it ends: a few lines a person reads (the kept model's test
// metrics, the kept epoch and why training stopped, where the files are). The full report is
// metrics.json; `heed train --json` prints it instead.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace heed::cli {

std::string run_summary(const nlohmann::ordered_json& report, const Config& config,
                        const std::filesystem::path& run_dir);

// Whether `dir` already holds a run: a model, a checkpoint or a metrics.json.
bool holds_a_run(const std::filesystem::path& dir);

}  // namespace heed::cli
