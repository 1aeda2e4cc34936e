#pragma once
// Each heed subcommand registers itself on the CLI app; one file per command.
#include <CLI/CLI.hpp>

namespace heed::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_download_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_ablate_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace heed::cli
