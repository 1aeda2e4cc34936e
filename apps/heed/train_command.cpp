#include <cstdio>

#include "commands.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "train/trainer.h"

namespace heed::cli {

void add_train_command(CLI::App& app) {
  struct Args {
    std::string config, out;
    std::vector<std::string> overrides;
    std::string resume;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model from a TOML config");
  cmd->add_option("config", args->config, "Config file (TOML)")->required();
  cmd->add_option("--set", args->overrides, "Override a config key: --set train.epochs=3 (repeatable)");
  cmd->add_option("--out", args->out, "Run folder for model, checkpoint and metrics.json");
  cmd->add_option("--resume", args->resume, "Continue the run in this folder from its last checkpoint");
  cmd->callback([args] {
    if (args->out.empty() && args->resume.empty()) throw Error("train needs --out RUN_DIR (or --resume RUN_DIR)");
    if (!args->out.empty() && !args->resume.empty() && args->out != args->resume)
      throw Error("--out and --resume name different folders");
    const Config config = load_config(args->config, args->overrides);
    TrainOptions options;
    options.run_dir = args->resume.empty() ? args->out : args->resume;
    options.resume = !args->resume.empty();
    const auto report = train(config, options);
    std::printf("%s\n", report.contains("test") ? report["test"].dump(2).c_str() : report.dump(2).c_str());
    std::printf("model: %s   metrics: %s\n", (options.run_dir / "model").c_str(),
                (options.run_dir / "metrics.json").c_str());
  });
}

}  // namespace heed::cli
