// heed: the command line. Each subcommand lives in its own file beside this one; library code
// throws heed::Error and only this function turns errors into messages and exit codes.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "config/config_loader.h"
#include "core/error.h"

namespace {

// A word where a command belongs that names none ("heed evaluate", "heed prepare ml100k"):
// CLI11 would only say that a subcommand is required, so name the word and the nearest command.
std::optional<std::string> unknown_command(const CLI::App& root, int argc, char** argv) {
  const CLI::App* app = &root;
  std::string path = "heed";
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const std::string word = argv[i];
    std::vector<std::string> names;
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (next) {
      app = next;
      path += " " + word;
      continue;
    }
    if (names.empty() || app->get_require_subcommand_min() == 0) return std::nullopt;
    std::string nearest;
    for (const std::string& name : names)
      if (word.starts_with(name) || name.starts_with(word)) nearest = name;
    if (nearest.empty()) nearest = heed::closest_key(word, names);
    return fmt::format("'{}' is not a command of {}{}; the commands are {}", word, path,
                       nearest.empty() ? "" : fmt::format(" (did you mean '{}'?)", nearest), fmt::join(names, ", "));
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"heed: click-through-rate models with SENet, DIN and POSO"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("heed ") + HEED_VERSION);
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
  if (const auto message = unknown_command(app, argc, argv)) {
    std::fprintf(stderr, "heed: error: %s\n", message->c_str());
    return 1;
  }
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
