// heed: the command line. Each subcommand lives in its own file beside this one; library code
// throws heed::Error and only this function turns errors into messages and exit codes.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"heed: click-through-rate models with SENet, DIN and POSO"};
  app.require_subcommand(1);
  heed::cli::add_train_command(app);
  heed::cli::add_eval_command(app);
  heed::cli::add_predict_command(app);
  heed::cli::add_synth_command(app);
  heed::cli::add_prepare_command(app);
  heed::cli::add_download_command(app);
  heed::cli::add_config_command(app);
  heed::cli::add_ablate_command(app);
  heed::cli::add_explain_command(app);
  heed::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const heed::Error& e) {
    std::fprintf(stderr, "heed: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heed: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
