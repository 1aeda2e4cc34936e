#include <cstdio>

#include "commands.h"
#include "config/config_loader.h"
#include "config/options.h"

namespace heed::cli {

void add_config_command(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> overrides;
    bool keys = false;
    bool markdown = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("config", "List every config key, or print a config fully resolved");
  cmd->add_option("config", args->config, "Config file to check and print resolved");
  cmd->add_option("--set", args->overrides, "Override a config key (repeatable)");
  cmd->add_flag("--keys", args->keys, "List every key with its type, default and help");
  cmd->add_flag("--markdown", args->markdown, "List every key as the Markdown table of docs/config.md");
  cmd->callback([args] {
    if (args->markdown) {
      std::printf("%s", options_markdown().c_str());
      return;
    }
    if (args->keys || args->config.empty()) {
      for (const auto& o : run_options())
        std::printf("%-26s %-16s default %-14s %s\n", o.key.c_str(), o.type.c_str(), o.default_text.c_str(), o.help.c_str());
      for (const auto& o : feature_options())
        std::printf("features.NAME.%-12s %-16s default %-14s %s\n", o.key.c_str(), o.type.c_str(), o.default_text.c_str(),
                    o.help.c_str());
      return;
    }
    std::printf("%s", to_toml(load_config(args->config, args->overrides)).c_str());
  });
}

}  // namespace heed::cli
