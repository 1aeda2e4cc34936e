#include <cstdio>
#include <fstream>

#include "checkpoint/checkpoint.h"
#include "commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "data/dataset_loader.h"
#include "model/scorer.h"

namespace heed::cli {

void add_predict_command(CLI::App& app) {
  struct Args {
    std::string model, data, out;
    int threads = 0;
    std::string precision;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("predict", "Write one click probability per input row, in input order");
  cmd->add_option("model", args->model, "Model file (RUN_DIR/model)")->required();
  cmd->add_option("--data", args->data, "Rows in the training layout (the label column may be absent)")->required();
  cmd->add_option("--out", args->out, "Output file: one probability per line (default: standard output)");
  cmd->add_option("--threads", args->threads, "Threads (0: every core)");
  cmd->add_option("--precision", args->precision,
                  "Scoring products: fp32, bf16 or int8 (default: the model's scoring.precision)");
  cmd->callback([args] {
    Checkpoint cp = load_checkpoint(args->model);
    cp.model->set_precision(scoring_precision(cp.model->config(), args->precision));
    LoadOptions load;
    load.require_label = false;
    load.features_only = true;  // eval.group, eval.slice and the split columns serve evaluation only
    load.never_skip = true;  // one score per input line, in order
    const Dataset data = load_dataset(args->data, cp.model->config(), cp.model->schema(), load);
    const std::vector<float> scores = score_dataset(*cp.model, data, resolve_threads(args->threads));
    std::string text;
    text.reserve(scores.size() * 12);
    for (float s : scores) text += fmt::format("{:.9g}\n", s);
    if (args->out.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return;
    }
    std::ofstream out(args->out, std::ios::binary);
    if (!(out << text)) throw Error(fmt::format("cannot write {}", args->out));
  });
}

}  // namespace heed::cli
