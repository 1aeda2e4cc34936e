#include "train/run_report.h"

#include "checkpoint/checkpoint.h"
#include "eval/evaluation.h"
#include "train/validation_checks.h"

namespace heed {

nlohmann::ordered_json write_run_report(const std::filesystem::path& run_dir, const std::filesystem::path& kept_model,
                                        const Splits& data, const RunFacts& facts,
                                        const std::function<void(const std::string&)>& warn) {
  Checkpoint kept = load_checkpoint(kept_model);
  nlohmann::ordered_json report;
  if (data.valid.rows > 0)
    report["valid"] = evaluation_json(evaluate_dataset(*kept.model, data.valid, facts.threads), facts.slice);
  if (data.has_test)
    report["test"] = evaluation_json(evaluate_dataset(*kept.model, data.test, facts.threads), facts.slice);
  report["best_epoch"] = facts.stopping.best_epoch;
  report["epochs_run"] = facts.epochs_run;
  report["stopped_early"] = facts.stopping.finished;
  report["threads"] = facts.threads;
  report["train_rows"] = facts.train_rows;
  if (facts.streamed) report["streamed"] = true;
  if (!facts.distributed.is_null()) report["distributed"] = facts.distributed;
  report["dense_parameters"] = kept.model->params().count();
  std::size_t embedding_rows = 0;
  for (const auto& t : kept.model->tables()) embedding_rows += t.rows();
  report["embedding_rows"] = embedding_rows;
  report["history"] = facts.history;
  const std::vector<std::string> warnings =
      validation_warnings(data.valid, facts.grouped, validation_epochs(facts.history));
  for (const std::string& w : warnings) warn("warning: " + w);
  if (!warnings.empty()) report["warnings"] = warnings;
  write_file_atomically(run_dir / "metrics.json", report.dump(2) + "\n");
  return report;
}

}  // namespace heed
