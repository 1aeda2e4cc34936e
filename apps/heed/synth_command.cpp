#include "commands.h"
#include "core/error.h"

namespace heed::cli {
void add_synth_command(CLI::App&) {}
}  // namespace heed::cli
