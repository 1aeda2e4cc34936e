#pragma once
// metrics.json: the kept model, evaluated as it is on disk (so `heed eval` on it prints the
// same numbers) on the validation and test splits, with how the run went.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "train/data_splits.h"
#include "train/early_stopping.h"

namespace heed {

// How the run went, besides the kept model's metrics.
struct RunFacts {
  std::int64_t epochs_run = 0;
  EarlyStopping stopping;
  int threads = 1;
  std::size_t train_rows = 0;
  bool streamed = false;
  nlohmann::ordered_json history;
  std::string slice;     // eval.slice
  bool grouped = false;  // eval.group is set
  // A run on several ranks: how its embedding rows were spread (null for one process).
  nlohmann::ordered_json distributed;
};

// Evaluates the model file `kept_model`, tells `warn` the validation warnings and writes
// run_dir/metrics.json; returns what it wrote.
nlohmann::ordered_json write_run_report(const std::filesystem::path& run_dir, const std::filesystem::path& kept_model,
                                        const Splits& data, const RunFacts& facts,
                                        const std::function<void(const std::string&)>& warn);

}  // namespace heed
