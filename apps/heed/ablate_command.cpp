#include <cstdio>

#include "ablate/ablation.h"
#include "ablate/ablation_report.h"
#include "ablate/ablation_summary.h"
#include "commands.h"
#include "config/config_loader.h"
#include "core/error.h"

namespace heed::cli {

void add_ablate_command(CLI::App& app) {
  struct Args {
    std::string config, out, slice;
    std::vector<std::string> overrides, variants;
    std::string reference = "plain";
    int seeds = 3;
    std::vector<std::uint64_t> seed_list;
    std::int64_t threads = -1;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("ablate",
                                     "Train the plain model, each module alone, the full model "
                                     "minus each module and the full model, "
                                     "over several seeds, and report which modules help");
  cmd->add_option("config", args->config, "Config of the full model (TOML)")->required();
  cmd->add_option("--set", args->overrides,
                  "Override a config key for every variant: --set data.dir=D (repeatable)");
  cmd->add_option("--out", args->out,
                  "Folder for the runs (OUT/<variant>/seed-<s>/) and the reports")
      ->required();
  auto* seeds =
      cmd->add_option("--seeds", args->seeds, "Train each variant with seeds 1..N (train.seed)")
          ->default_val(3)
          ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed-list", args->seed_list,
                  "Train each variant with these seeds instead: --seed-list 3,7")
      ->delimiter(',')
      ->excludes(seeds);
  cmd->add_option("--variants", args->variants,
                  "Only these variants (the reference is always added): plain, senet, "
                  "din, poso, no-senet, "
                  "no-din, no-poso, full; e.g. --variants plain,din,full")
      ->delimiter(',');
  cmd->add_option("--reference", args->reference,
                  "Variant every difference is measured against, e.g. no-poso to read what POSO "
                  "adds to the rest (default: plain)")
      ->default_val("plain");
  cmd->add_option("--slice", args->slice,
                  "Column whose values each get a test AUC (default: the config's eval.slice)");
  cmd->add_option("--threads", args->threads,
                  "Threads for every run (default: the config's train.threads; 0: every core)");
  cmd->footer(
      std::string(
          "\nVariants run one after another, each with every thread, so results are "
          "deterministic.\n"
          "Running it again with the same --out resumes: finished runs are reused, an interrupted\n"
          "run continues from its checkpoint; a different config for the same --out is an "
          "error.\n\n"
          "Differences: ") +
      ablate::kIntervalRule + ".\nRecommendation: " + ablate::kRecommendationRule +
      ".\n\nWrites OUT/ablation.md, OUT/ablation.json and OUT/ablation.html; prints the tables to "
      "stdout.");
  cmd->callback([args] {
    const Config config = load_config(args->config, args->overrides);
    ablate::AblationOptions options;
    options.out = args->out;
    if (args->seed_list.empty())
      for (int s = 1; s <= args->seeds; ++s) options.seeds.push_back(static_cast<std::uint64_t>(s));
    else
      options.seeds = args->seed_list;
    options.variants = args->variants;
    options.reference = args->reference;
    options.slice = args->slice;
    if (args->threads >= 0) options.threads = args->threads;
    options.log = [](const std::string& line) {
      std::fprintf(stderr, "ablate: %s\n", line.c_str());
      std::fflush(stderr);
    };
    const ablate::AblationResult result = ablate::run_ablation(config, options);
    const ablate::AblationSummary summary = ablate::summarize(result);
    ablate::write_ablation_reports(options.out, result, summary);
    const auto tables = ablate::report_tables(result, summary);
    std::printf("%s\n", ablate::markdown_table(tables.front()).c_str());
    // The per-slice table too, when there is one: a module may help one group only.
    for (const ablate::ReportTable& table : tables)
      if (table.title.starts_with("Test AUC per "))
        std::printf("%s\n", ablate::markdown_table(table).c_str());
    std::printf("%s\n", summary.recommendation.text.c_str());
    std::printf("\nreports: %s, %s, %s\n", (options.out / "ablation.md").c_str(),
                (options.out / "ablation.json").c_str(), (options.out / "ablation.html").c_str());
  });
}

}  // namespace heed::cli
