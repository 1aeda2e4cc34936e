#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <numeric>
#include <optional>
#include <span>

#include <fmt/ranges.h>
#include <sstream>

#include <omp.h>

#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "data/file_patterns.h"
#include "data/quantile_buckets.h"
#include "embedding/batch_builder.h"
#include "layers/logloss.h"
#include "model/scorer.h"
#include "optim/adam.h"
#include "optim/row_optimizer.h"
#include "train/checkpoint_files.h"
#include "train/data_splits.h"
#include "train/divergence.h"
#include "train/early_stopping.h"
#include "train/progress.h"
#include "train/training_rows.h"
#include "train/validation_checks.h"

namespace heed {
namespace {

using Json = nlohmann::ordered_json;

// Higher is better for every metric early stopping reads; logloss is negated.
double score_of(const metrics::Metrics& m, const std::string& metric) {
  if (metric == "gauc") return m.gauc;
  if (metric == "logloss") return -m.logloss;
  return m.auc;
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// What --resume may change: how long and how visibly to train, not what is trained.
Config with_resumable_keys(Config saved, const Config& requested) {
  saved.train.epochs = requested.train.epochs;
  saved.train.patience = requested.train.patience;
  saved.train.progress = requested.train.progress;
  saved.train.checkpoint_steps = requested.train.checkpoint_steps;
  saved.train.checkpoint_minutes = requested.train.checkpoint_minutes;
  saved.train.keep_checkpoints = requested.train.keep_checkpoints;
  saved.train.check_finite = requested.train.check_finite;
  saved.data.dir = requested.data.dir;
  saved.eval.batch_size = requested.eval.batch_size;
  return saved;
}

void check_resume_compatible(const Config& saved, const Config& requested) {
  const std::string a = to_toml(with_resumable_keys(saved, requested));
  const std::string b = to_toml(requested);
  if (a == b) return;
  std::istringstream sa(a), sb(b);
  std::string la, lb, section;
  while (std::getline(sa, la) && std::getline(sb, lb)) {
    if (!la.empty() && la[0] == '[') section = la;
    if (la != lb)
      throw Error(fmt::format("--resume: the config differs from the checkpoint's in {} ('{}' vs '{}'); only "
                              "train.epochs, train.patience, train.progress, train.checkpoint_*, train.keep_checkpoints, "
                              "train.check_finite, data.dir and eval.batch_size may change",
                              section, lb, la));
  }
  throw Error("--resume: the config differs from the checkpoint's");
}

// One optimizer step over `batch` on `threads` threads; returns the batch's summed loss.
double train_step(Model& model, const Batch& batch, std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                  int threads, std::uint64_t step_seed) {
  const auto B = static_cast<Index>(batch.size);
  const float scale = 1.0f / static_cast<float>(B);
  const Index dim = model.config().embedding.dim;
  std::vector<double> losses(static_cast<std::size_t>(threads), 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
    ws.rows = 0;
    ws.grads.zero();
    for (std::size_t k = 0; k < ws.table_grads.size(); ++k)
      ws.table_grads[k].assign(batch.tables[k].touched.size() * static_cast<std::size_t>(dim), 0.0f);
    const Index begin = B * t / threads, stop = B * (t + 1) / threads;
    if (stop > begin) {
      ws.rng.reseed(mix64(step_seed + static_cast<std::uint64_t>(t)));
      model.forward(batch, begin, stop - begin, ws, /*training=*/true);
      losses[static_cast<std::size_t>(t)] =
          logloss_with_logits(ws.mlp.logit.data(), batch.labels.data() + begin, static_cast<std::size_t>(stop - begin),
                              ws.d_logit.data(), scale);
      model.backward(batch, begin, stop - begin, ws, /*row_weight=*/scale);
    }
  }
  // Sum the threads' gradients in thread order: the same result for the same thread count.
  Model::Workspace& total = *workspaces[0];
  for (int t = 1; t < threads; ++t) {
    const Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
    total.grads.add(ws.grads);
    for (std::size_t k = 0; k < total.table_grads.size(); ++k)
      for (std::size_t i = 0; i < total.table_grads[k].size(); ++i) total.table_grads[k][i] += ws.table_grads[k][i];
  }
  return std::accumulate(losses.begin(), losses.end(), 0.0);
}

// Where a checkpoint taken inside an epoch stopped: the epoch's permutation is derived from the
// seed and the epoch number, so the next row's position is all the data position there is.
struct EpochInProgress {
  std::size_t next_row = 0;
  double loss_sum = 0;  // summed batch losses so far (for the epoch's train_logloss)
  double seconds = 0;   // time spent on the epoch so far

  nlohmann::json to_json() const { return {{"next_row", next_row}, {"loss_sum", loss_sum}, {"seconds", seconds}}; }
  static EpochInProgress from_json(const nlohmann::json& j) {
    return {j.at("next_row").get<std::size_t>(), j.at("loss_sum").get<double>(), j.at("seconds").get<double>()};
  }
};

// Removes a new run folder's config.toml, and the folder when nothing else is in it, if
// training never started.
class UntilTrainingStarts {
 public:
  UntilTrainingStarts(std::filesystem::path folder, bool new_folder) : folder_(std::move(folder)), armed_(new_folder) {}
  UntilTrainingStarts(const UntilTrainingStarts&) = delete;
  UntilTrainingStarts& operator=(const UntilTrainingStarts&) = delete;
  ~UntilTrainingStarts() {
    if (!armed_) return;
    std::error_code ignored;
    std::filesystem::remove(folder_ / "config.toml", ignored);
    if (std::filesystem::is_empty(folder_, ignored)) std::filesystem::remove(folder_, ignored);
  }
  void training_started() { armed_ = false; }

 private:
  std::filesystem::path folder_;
  bool armed_;
};

}  // namespace

Json train(const Config& given, const TrainOptions& options) {
  // Quantile bucket edges come from the training data, before anything is built from the config.
  if (options.rows)
    for (const FeatureConfig& f : given.features)
      if (f.bucketize == "quantile" && f.boundaries.empty())
        throw Error(fmt::format("feature '{}': bucketize = \"quantile\" computes its edges from training files; with "
                                "rows from memory give them (bucketize = \"boundaries\", boundaries = [...])",
                                f.name));
  const Config requested =
      options.rows ? given : with_quantile_boundaries(given, expand_file_pattern(data_file(given, given.data.train)));
  const bool new_folder = !std::filesystem::exists(options.run_dir);
  std::filesystem::create_directories(options.run_dir);
  // A run that fails before its first step (data that does not load, a missing file) takes
  // back the folder it made, unless something worth reading (rejected rows) landed there.
  UntilTrainingStarts setup_guard(options.run_dir, new_folder);
  const auto model_path = options.run_dir / "model";
  CheckpointFiles checkpoints(options.run_dir, requested.train.keep_checkpoints);

  std::unique_ptr<Model> model;
  std::int64_t epoch = 0;  // epochs completed
  EarlyStopping stopping;
  Json history = Json::array();
  std::string optimizer_state;
  std::optional<EpochInProgress> partial;
  if (options.resume) {
    Checkpoint cp = checkpoints.load_newest([](const std::string& line) { std::fprintf(stderr, "heed: %s\n", line.c_str()); });
    check_resume_compatible(cp.model->config(), requested);
    Config config = with_resumable_keys(cp.model->config(), requested);
    model = std::make_unique<Model>(config);
    // Rebuild with the updated keys, then take every weight from the checkpoint.
    std::swap(model->params(), cp.model->params());
    std::swap(model->tables(), cp.model->tables());
    std::swap(model->normalizer(), cp.model->normalizer());
    try {
      const nlohmann::json& state = *cp.trainer;
      epoch = state.at("epochs_done").get<std::int64_t>();
      stopping = EarlyStopping::from_json(state.at("early_stopping"));
      history = Json(state.at("history"));
      if (state.contains("epoch_in_progress") && !state.at("epoch_in_progress").is_null())
        partial = EpochInProgress::from_json(state.at("epoch_in_progress"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: unreadable training state: {}", checkpoints.latest().string(), e.what()));
    }
    optimizer_state = cp.optimizer;
    stopping = resumed_stopping(stopping, epoch, cp.model->config().train, config.train);
  } else {
    model = std::make_unique<Model>(requested);
    checkpoints.forget_previous_run();
  }
  const Config& config = model->config();
  write_file_atomically(options.run_dir / "config.toml", to_toml(config));

  const bool stream =
      !options.rows && should_stream(config.data, expand_file_pattern(data_file(config, config.data.train)));
  Splits data = load_splits(config, model->schema(), options.run_dir, stream, options.rows);
  std::unique_ptr<TrainingRows> training_rows =
      stream ? streamed_rows(data.train_files, config, model->schema(), data.held_out, *data.train_log,
                             data.train_reported)
             : in_memory_rows(data.train, config);
  if (!stream && data.train.rows == 0)
    throw Error(fmt::format("{}: no training rows", data_file(config, config.data.train).string()));
  if (!options.resume) {
    if (!stream) {
      model->normalizer().fit(data.train);
    } else if (model->normalizer().needs_statistics()) {  // a pass over the files for the dense statistics
      training_rows->start_epoch(0);
      BatchRows rows;
      while (training_rows->next(rows)) model->normalizer().add_to_fit(rows.data->select({rows.rows.begin(), rows.rows.end()}));
      model->normalizer().finish_fit();
    }
  }

  const int threads = resolve_threads(config.train.threads);
  const auto batch_size = static_cast<std::size_t>(config.train.batch_size);
  const Index per_thread = static_cast<Index>((batch_size + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads));
  std::vector<std::unique_ptr<Model::Workspace>> workspaces;
  for (int t = 0; t < threads; ++t) workspaces.push_back(model->make_workspace(per_thread));
  std::vector<const Model::Workspace*> workspace_views;
  for (const auto& ws : workspaces) workspace_views.push_back(ws.get());
  Adam adam(model->params(), config.optimizer);
  if (!optimizer_state.empty()) {
    std::istringstream in(optimizer_state);
    adam.load(in);
  }
  RowOptimizer row_optimizer(config.optimizer);
  BatchBuilder builder(model->schema(), config.embedding);
  Progress progress(config.train.progress, training_rows->rows_per_epoch(), config.train.epochs);
  const bool validate = data.valid.rows > 0 && config.train.early_stop_metric != "none";
  progress.message(fmt::format("training on {} ({} threads), validating on {}",
                               stream ? fmt::format("{} streamed through a shuffle buffer of {} rows", config.data.train,
                                                    config.data.shuffle_buffer)
                                      : fmt::format("{} rows", data.train.rows),
                               threads,
                               validate ? fmt::format("{} rows ({})", data.valid.rows, data.valid_source) : "nothing"));
  if (partial)
    progress.message(fmt::format("resuming epoch {} at row {} (step {})", epoch + 1, partial->next_row, adam.steps()));

  auto meta_of = [&](std::int64_t epoch) {
    return Json{{"format_version", kCheckpointVersion}, {"heed_version", HEED_VERSION}, {"trained_at", now_iso8601()},
                {"epoch", epoch}, {"train_rows", training_rows->rows_per_epoch()}};
  };
  // The full training state: with the weights, Adam's moments and step, and the embedding
  // rows' optimizer state, this is all a resumed run needs to take the same steps.
  auto save_resumable = [&](std::int64_t epochs_done, const std::optional<EpochInProgress>& in_progress) {
    std::ostringstream optimizer_out;
    adam.save(optimizer_out);
    const nlohmann::json trainer_state = {
        {"epochs_done", epochs_done}, {"step", adam.steps()}, {"early_stopping", stopping.to_json()},
        {"history", nlohmann::json::parse(history.dump())},
        {"epoch_in_progress", in_progress ? in_progress->to_json() : nlohmann::json()}};
    try {
      checkpoints.save(adam.steps(), *model, meta_of(epochs_done), optimizer_out.str(), trainer_state);
    } catch (const std::exception& e) {
      throw Error(fmt::format("training stopped at step {}: {}", adam.steps(), e.what()));
    }
  };
  using Clock = std::chrono::steady_clock;
  auto last_checkpoint = Clock::now();
  auto checkpoint_due = [&]() {
    if (config.train.checkpoint_steps > 0 && adam.steps() % config.train.checkpoint_steps == 0) return true;
    return config.train.checkpoint_minutes > 0 &&
           std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >= config.train.checkpoint_minutes * 60;
  };
  Batch batch;
  BatchRows rows;
  // The batch's row r -> "file:line" for messages.
  auto source_of = [&](std::size_t r) { return rows.data->source_of(rows.rows[r]); };
  auto diverged = [&](const NonFinite& found, std::int64_t step) {
    std::vector<std::string> lines;
    for (std::size_t r : found.rows) {
      if (lines.size() == 5) break;
      lines.push_back(source_of(r));
    }
    std::vector<std::string> batch_lines;
    for (std::size_t r = 0; r < batch.size && r < 5; ++r) batch_lines.push_back(source_of(r));
    const std::string rows =
        found.rows.empty()
            ? fmt::format("the batch of {} rows starts with {}", batch.size, fmt::join(batch_lines, ", "))
            : fmt::format("in {} of the batch's {} rows: {}{}", found.rows.size(), batch.size, fmt::join(lines, ", "),
                          found.rows.size() > lines.size() ? ", ..." : "");
    const auto kept = checkpoints.present();
    return Error(fmt::format("training diverged at step {} (epoch {}): NaN or Inf first in the {}, {}. Nothing from "
                             "this step was saved; {}",
                             step, epoch, found.where, rows,
                             kept.empty() ? "no checkpoint had been written yet"
                                          : fmt::format("the last good checkpoint is {}", kept.front().string())));
  };
  // The caller's news of the run; false from it stops training here (its checkpoint written).
  auto tell = [&](std::int64_t epoch, const EpochInProgress& now, const Json* epoch_end) {
    if (!options.on_update) return;
    TrainingUpdate update;
    update.epoch = epoch;
    update.epochs = config.train.epochs;
    update.step = adam.steps();
    update.rows_done = now.next_row;
    update.rows_per_epoch = training_rows->rows_per_epoch();
    update.train_logloss = now.next_row ? now.loss_sum / static_cast<double>(now.next_row) : 0.0;
    update.epoch_end = epoch_end;
    if (options.on_update(update)) return;
    if (!epoch_end) save_resumable(epoch - 1, now);
    throw TrainingStopped(fmt::format("training stopped at step {} (epoch {}, row {}); the checkpoint in {} resumes it",
                                      adam.steps(), epoch, now.next_row, options.run_dir.string()));
  };
  bool undefined_metric_said = false;
  setup_guard.training_started();
  while (!stopping.finished && epoch < config.train.epochs) {
    ++epoch;
    EpochInProgress now;
    if (partial) now = *partial, partial.reset();
    const auto started = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(now.seconds));
    training_rows->start_epoch(epoch);
    // A resumed epoch passes over the rows it had trained on: the order depends only on the
    // seed, the epoch and the data, so the same rows come next.
    for (std::size_t skipped = 0; skipped < now.next_row;) {
      if (!training_rows->next(rows))
        throw Error(fmt::format("--resume: the checkpoint stopped at row {} of an epoch, but the training data has {} rows",
                                now.next_row, skipped));
      skipped += rows.rows.size();
    }
    progress.start_epoch(epoch);
    while (training_rows->next(rows)) {
      const std::int64_t step = adam.steps() + 1;
      const std::uint64_t step_seed = mix64(config.train.seed ^ mix64(static_cast<std::uint64_t>(step) << 20));
      Rng batch_rng(step_seed);
      builder.build(*rows.data, rows.rows, /*training=*/true, &batch_rng, model->tables(), model->normalizer(), batch);
      const double loss = train_step(*model, batch, workspaces, threads, step_seed);
      if (config.train.check_finite) {
        if (!std::isfinite(loss)) throw diverged(*first_non_finite_stage(*model, batch, workspaces, threads), step);
        if (auto found = first_non_finite_gradient(*model, *workspaces[0])) throw diverged(*found, step);
      }
      if (config.optimizer.clip_norm > 0) clip_gradients(*workspaces[0], config.optimizer.clip_norm);
      now.loss_sum += loss;
      adam.step(model->params(), workspaces[0]->grads, threads);
      model->update_running_statistics(workspace_views);
      for (std::size_t k = 0; k < model->tables().size(); ++k)
        row_optimizer.update(model->tables()[k], batch.tables[k].touched, workspaces[0]->table_grads[k].data(),
                             adam.steps(), threads);
      if (config.train.check_finite)
        if (auto found = first_non_finite_weight(*model, batch)) {
          found->where += " after the update";
          throw diverged(*found, step);
        }
      now.next_row += rows.rows.size();
      progress.update(now.next_row, now.loss_sum / static_cast<double>(now.next_row));
      // Not after the epoch's last batch (when known): the end-of-epoch checkpoint follows.
      const std::size_t epoch_rows = training_rows->rows_per_epoch();
      if ((epoch_rows == 0 || now.next_row < epoch_rows) && checkpoint_due()) {
        now.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        save_resumable(epoch - 1, now);
        last_checkpoint = Clock::now();
      }
      if (options.on_update) {
        now.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        tell(epoch, now, nullptr);
      }
    }
    const std::size_t done = now.next_row;
    if (done == 0) throw Error(fmt::format("{}: no training rows", data_file(config, config.data.train).string()));
    progress.set_rows_per_epoch(done);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    Json entry{{"epoch", epoch}, {"train_logloss", now.loss_sum / static_cast<double>(done)},
               {"seconds", seconds}, {"samples_per_second", static_cast<double>(done) / seconds}};
    std::string summary = fmt::format("epoch {}: train logloss {:.5f}, {:.0f} samples/s", epoch,
                                      entry["train_logloss"].get<double>(), entry["samples_per_second"].get<double>());
    bool keep = true;
    if (validate) {
      const metrics::Metrics m = evaluate_dataset(*model, data.valid, threads).overall;
      entry["valid"] = metrics_json(m);
      double score = score_of(m, config.train.early_stop_metric);
      if (std::isnan(score)) {
        // AUC is undefined when the validation rows hold one class, gAUC when no user has both;
        // only the labels decide that, so it stays undefined every epoch and would keep epoch 1.
        if (!undefined_metric_said)
          progress.message(fmt::format("warning: valid {} is undefined ({}); early stopping uses valid logloss",
                                       config.train.early_stop_metric,
                                       config.train.early_stop_metric == "gauc"
                                           ? "no user in the validation rows has both labels"
                                           : "the validation rows hold one label"));
        undefined_metric_said = true;
        score = -m.logloss;
        entry["early_stop_metric"] = "logloss";
      }
      keep = stopping.observe(epoch, score, config.train.patience);
      // gAUC only where eval.group names the users it averages over (NaN otherwise).
      summary += fmt::format(", valid auc {:.5f}{} logloss {:.5f}{}", m.auc,
                             config.eval.group.empty() ? "" : fmt::format(" gauc {:.5f}", m.gauc), m.logloss,
                             keep ? " (kept)" : "");
    } else {
      stopping.best_epoch = epoch;  // without validation the last epoch is kept
    }
    if (keep) save_checkpoint(model_path, *model, meta_of(epoch), "", nullptr);
    history.push_back(entry);
    progress.finish_epoch(summary);
    if (stopping.finished)
      progress.message(early_stop_text(stopping, entry.value("early_stop_metric", config.train.early_stop_metric),
                                       config.train.patience));
    save_resumable(epoch, std::nullopt);
    last_checkpoint = Clock::now();
    tell(epoch, now, &history.back());
  }

  // Training is over: free its model (embedding rows with their optimizer state), workspaces
  // and rows before the kept model is loaded, so the run never holds two models at once.
  // `config` belongs to the model: what the report needs of it is copied out first.
  const std::string slice = config.eval.slice;
  const bool grouped = !config.eval.group.empty();
  const std::size_t train_rows = training_rows->rows_per_epoch();
  training_rows.reset();
  workspace_views.clear();
  workspaces.clear();
  model.reset();

  // Report the kept model as it is on disk, so `heed eval` on it prints the same numbers.
  Checkpoint kept = load_checkpoint(model_path);
  Json report;
  if (data.valid.rows > 0)
    report["valid"] = evaluation_json(evaluate_dataset(*kept.model, data.valid, threads), slice);
  if (data.has_test)
    report["test"] = evaluation_json(evaluate_dataset(*kept.model, data.test, threads), slice);
  report["best_epoch"] = stopping.best_epoch;
  report["epochs_run"] = epoch;
  report["stopped_early"] = stopping.finished;
  report["threads"] = threads;
  report["train_rows"] = train_rows;
  if (stream) report["streamed"] = true;
  report["dense_parameters"] = kept.model->params().count();
  std::size_t embedding_rows = 0;
  for (const auto& t : kept.model->tables()) embedding_rows += t.rows();
  report["embedding_rows"] = embedding_rows;
  report["history"] = history;
  const std::vector<std::string> warnings =
      validation_warnings(data.valid, grouped, validation_epochs(history));
  for (const std::string& w : warnings) progress.message("warning: " + w);
  if (!warnings.empty()) report["warnings"] = warnings;
  write_file_atomically(options.run_dir / "metrics.json", report.dump(2) + "\n");
  return report;
}

}  // namespace heed
