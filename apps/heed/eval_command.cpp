#include <cstdio>

#include "checkpoint/checkpoint.h"
#include "commands.h"
#include "core/threads.h"
#include "data/dataset_loader.h"
#include "eval/evaluation.h"

namespace heed::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string model, data;
    int threads = 0;
    std::string precision;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("eval", "Print a trained model's metrics on a labeled file as JSON");
  cmd->add_option("model", args->model, "Model file (RUN_DIR/model)")->required();
  cmd->add_option("--data", args->data, "Labeled rows in the training layout")->required();
  cmd->add_option("--threads", args->threads, "Threads (0: every core)");
  cmd->add_option("--precision", args->precision,
                  "Scoring products: fp32, bf16 or int8 (default: the model's scoring.precision)");
  cmd->callback([args] {
    Checkpoint cp = load_checkpoint(args->model);
    cp.model->set_precision(scoring_precision(cp.model->config(), args->precision));
    LoadOptions load;
    load.rejects_name = "rejected_eval.txt";  // under data.on_error = "skip"
    const Dataset data = load_dataset(args->data, cp.model->config(), cp.model->schema(), load);
    const Evaluation e = evaluate_dataset(*cp.model, data, resolve_threads(args->threads));
    std::printf("%s\n", evaluation_json(e, cp.model->config().eval.slice).dump(2).c_str());
  });
}

}  // namespace heed::cli
