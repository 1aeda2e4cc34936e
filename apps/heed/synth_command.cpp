#include <cstdio>

#include "commands.h"
#include "data/synth/synth_generator.h"

namespace heed::cli {

void add_synth_command(CLI::App& app) {
  auto options = std::make_shared<synth::Options>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("synth", "Generate demo data from a known click process (see docs/synth.md)");
  cmd->add_option("--out", *out, "Output folder for train.tsv, valid.tsv, test.tsv and synth.json")->required();
  cmd->add_option("--rows", options->rows, "Rows over all splits")->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of the generator")->capture_default_str();
  cmd->add_option("--max-history", options->max_history, "Longest behaviour sequence written")->capture_default_str();
  cmd->callback([options, out] {
    options->out = *out;
    const auto s = synth::generate(*options);
    std::printf("wrote %zu train, %zu valid and %zu test rows (click rate %.3f) to %s\n", s.train_rows, s.valid_rows,
                s.test_rows, s.click_rate, out->c_str());
    std::printf("the planted click probability itself reaches test AUC %.4f (active users %.4f, new users %.4f): "
                "the ceiling for any model\n",
                s.test_planted_auc.all, s.test_planted_auc.active, s.test_planted_auc.new_users);
  });
}

}  // namespace heed::cli
