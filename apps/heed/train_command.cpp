#include <cstdio>

#include "commands.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "run_summary.h"
#include "train/trainer.h"
#ifdef HEED_WITH_MPI
#include "distributed/mpi_world.h"
#endif

namespace heed::cli {

void add_train_command(CLI::App& app) {
  struct Args {
    std::string config, out;
    std::vector<std::string> overrides;
    std::string resume;
    bool overwrite = false;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model from a TOML config");
  cmd->add_option("config", args->config, "Config file (TOML)")->required();
  cmd->add_option("--set", args->overrides, "Override a config key: --set train.epochs=3 (repeatable)");
  cmd->add_option("--out", args->out, "Run folder for model, checkpoint and metrics.json (a new one)");
  cmd->add_option("--resume", args->resume, "Continue the run in this folder from its last checkpoint");
  cmd->add_flag("--overwrite", args->overwrite, "Replace the run already in --out (its model and checkpoints)");
  cmd->add_flag("--json", args->json, "Print the full report (metrics.json) instead of the summary");
  cmd->callback([args] {
    if (args->out.empty() && args->resume.empty()) throw Error("train needs --out RUN_DIR (or --resume RUN_DIR)");
    if (!args->out.empty() && !args->resume.empty() && args->out != args->resume)
      throw Error("--out and --resume name different folders");
    if (args->resume.empty() && !args->overwrite && holds_a_run(args->out))
      throw Error(fmt::format("{} already holds a run (model, checkpoint or metrics.json); continue it with "
                              "--resume {}, or replace it with --overwrite",
                              args->out, args->out));
    const Config config = load_config(args->config, args->overrides);
    TrainOptions options;
    options.run_dir = args->resume.empty() ? args->out : args->resume;
    options.resume = !args->resume.empty();
    if (args->overwrite && !options.resume) {
      // The old run's results go first, so a failed new run leaves nothing that reads as its own.
      std::error_code ignored;
      std::filesystem::remove(options.run_dir / "metrics.json", ignored);
      std::filesystem::remove(options.run_dir / "model", ignored);
    }
    // Under mpirun every rank runs this same command (docs/distributed.md); a plain run never
    // starts MPI.
    std::unique_ptr<Communicator> world;
#ifdef HEED_WITH_MPI
    if (launched_by_mpirun()) world = mpi_world();
#endif
    options.peers = world.get();
    nlohmann::ordered_json report;
    try {
      report = train(config, options);
    } catch (const std::exception& e) {
#ifdef HEED_WITH_MPI
      // The other ranks would wait for this one in their next collective: end them all.
      if (world && world->size() > 1) abort_world(*world, e.what());
#endif
      throw;
    }
    if (world && !world->leader()) return;
    if (args->json)
      std::printf("%s\n", report.dump(2).c_str());
    else
      std::printf("%s", run_summary(report, config, options.run_dir).c_str());
  });
}

}  // namespace heed::cli
