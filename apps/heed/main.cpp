// heed: the command line. Each subcommand lives in its own file under apps/heed/.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"heed: click-through-rate models with SENet, DIN and POSO"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
