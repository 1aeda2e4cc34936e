#include <cstdio>

#include "checkpoint/checkpoint.h"
#include "commands.h"
#include "core/threads.h"
#include "explain/explanation.h"
#include "explain/explanation_json.h"
#include "explain/html_report.h"

namespace heed::cli {

void add_explain_command(CLI::App& app) {
  struct Args {
    std::string model, data, out;
    std::size_t rows = 20000, samples = 8, shuffles = 3;
    std::uint64_t seed = 1;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("explain",
                                     "Write an HTML page (and JSON beside it) showing what SENet, "
                                     "DIN and POSO learned, measured on a file");
  cmd->add_option("model", args->model, "Model file (RUN_DIR/model)")->required();
  cmd->add_option("--data", args->data,
                  "Rows in the training layout (labels optional: metrics when present)")
      ->required();
  cmd->add_option("--out", args->out,
                  "The page to write, e.g. report.html; the JSON goes beside it (report.json)")
      ->required();
  cmd->add_option(
         "--rows", args->rows,
         "Rows explained: every row of a smaller file (or with 0), else this many evenly spaced")
      ->capture_default_str();
  cmd->add_option("--samples", args->samples, "Rows shown per DIN attention")
      ->capture_default_str();
  cmd->add_option("--shuffles", args->shuffles,
                  "Permutation importance: shuffles of each field's values (0: not measured)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Which rows are shown and how fields are shuffled")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Threads (0: every core)");
  cmd->callback([args] {
    Checkpoint cp = load_checkpoint(args->model);
    explain::Options options;
    options.rows = args->rows;
    options.samples = args->samples;
    options.shuffles = args->shuffles;
    options.seed = args->seed;
    options.threads = resolve_threads(args->threads);
    const explain::Explanation e =
        explain::explain(*cp.model, cp.meta, args->model, args->data, options);
    const std::filesystem::path html = args->out;
    std::filesystem::path json = html;
    json.replace_extension(".json");
    if (json == html) json += ".json";
    if (html.has_parent_path()) std::filesystem::create_directories(html.parent_path());
    write_file_atomically(html, explain::render_html(e));
    write_file_atomically(json, explain::to_json(e).dump(2) + "\n");
    std::printf("report: %s   numbers: %s\n", html.string().c_str(), json.string().c_str());
  });
}

}  // namespace heed::cli
