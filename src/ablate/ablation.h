#pragma once
// Running an ablation: every variant (variants.h) trained once per seed, one run after another
// with every configured thread, each into OUT/<variant>/seed-<s>/ (a `heed train` run folder).
//
// Running it again resumes: a run folder whose config.toml equals the run's config and whose
// metrics.json is complete is reused as it is; one with a checkpoint but no metrics.json
// continues from the checkpoint; a run folder trained with a different config is an error
// (raised before anything is trained), since its figures would not answer the same question.
//
// Choosing never reads the test split: early stopping reads validation (carved from train by a
// stable hash when the config has no validation file), and so does the recommendation.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ablate/variants.h"
#include "config/config.h"

namespace heed::ablate {

// Validation share carved from train when the config has neither a file nor a fraction.
constexpr double kDefaultValidFraction = 0.1;

struct AblationOptions {
  std::filesystem::path out;
  std::vector<std::uint64_t> seeds;     // each run sets train.seed to one of these
  std::vector<std::string> variants;    // names to run (empty: every derived variant)
  std::string slice;                    // column for per-value AUC (empty: the config's eval.slice)
  std::optional<std::int64_t> threads;  // train.threads for every run (unset: the config's)
  std::string reference = "plain";      // the variant every difference is measured against
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

// What one run folder's metrics.json says. Metrics that were not computed are NaN.
struct RunResult {
  std::uint64_t seed = 0;
  std::string dir;  // relative to OUT: "<variant>/seed-<s>"
  double valid_auc = 0, test_auc = 0, test_gauc = 0, test_logloss = 0;
  double valid_logloss = std::numeric_limits<double>::quiet_NaN();  // NaN: not recorded
  std::vector<std::pair<std::string, double>> slice_auc;  // test AUC per slice value, by value
  double train_seconds = 0;                               // sum of the epochs' seconds
  std::int64_t dense_parameters = 0, embedding_rows = 0;
  std::int64_t parameters = 0;  // dense_parameters + embedding_rows * embedding.dim
  std::int64_t best_epoch = 0, epochs_run = 0;
  std::string status;  // "trained", "resumed" or "reused"
};

struct VariantResult {
  Variant variant;
  std::vector<RunResult> runs;  // one per seed, in seed order
};

struct AblationResult {
  Config base;                     // the full config as trained (after the ablation's adjustments)
  std::vector<std::string> notes;  // adjustments made to the config, for the report
  std::vector<std::uint64_t> seeds;
  std::string slice;      // empty: no slice
  std::string reference;  // name of the variant differences are measured against
  std::vector<VariantResult> variants;
};

// The full config with the ablation's adjustments: a validation carve when there is none,
// eval.slice, train.threads. Appends what it changed to `notes`.
Config prepare_base_config(const Config& config, const AblationOptions& options,
                           std::vector<std::string>& notes);

// Trains (or reuses) every run and reads back their figures. Throws heed::Error for bad
// options, unknown variants, and run folders holding a different config.
AblationResult run_ablation(const Config& config, const AblationOptions& options);

// Reads a finished run folder's metrics.json; throws heed::Error when it is missing or incomplete.
RunResult read_run(const std::filesystem::path& run_dir, std::uint64_t seed,
                   const std::string& slice, std::int64_t embedding_dim);

}  // namespace heed::ablate
