#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/ranges.h>

#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "config/options.h"
#include "core/error.h"
#include "core/threads.h"
#include "data/file_patterns.h"
#include "data/quantile_buckets.h"
#include "distributed/data_parallel.h"
#include "distributed/sharded_embeddings.h"
#include "embedding/batch_builder.h"
#include "eval/evaluation.h"
#include "optim/adam.h"
#include "optim/row_optimizer.h"
#include "train/checkpoint_files.h"
#include "train/data_splits.h"
#include "train/divergence.h"
#include "train/progress.h"
#include "train/resume.h"
#include "train/run_report.h"
#include "train/sharded_checkpoint.h"
#include "train/train_step.h"
#include "train/training_rows.h"

namespace heed {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// Higher is better for every metric early stopping reads; logloss is negated.
double score_of(const metrics::Metrics& m, EarlyStopMetric metric) {
  if (metric == EarlyStopMetric::kGauc) return m.gauc;
  if (metric == EarlyStopMetric::kLogloss) return -m.logloss;
  return m.auc;
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

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

// One training run. The constructor prepares everything (the model, fresh or from the
// checkpoint, the data, the optimizers); run() is the algorithm.
class Trainer {
 public:
  Trainer(const Config& requested, const TrainOptions& options);
  Json run();

 private:
  // --- preparation, in the order the constructor takes it ---
  void start_fresh(const Config& requested);
  void resume_from_checkpoint(const Config& requested);
  void load_data();
  void check_every_rank_runs_the_same();
  void fit_normalizer();
  void make_optimizers(const std::string& adam_state, const Checkpoint* resumed);
  void shard_embeddings();
  void say_what_trains();

  // --- the epoch loop's pieces ---
  EpochInProgress begin_epoch();
  void train_on_batch(EpochInProgress& now);
  void tell(EpochInProgress& now, Clock::time_point started, const Json* epoch_end);
  void checkpoint_if_due(EpochInProgress& now, Clock::time_point started);
  void finish_epoch(const EpochInProgress& now, Clock::time_point started);
  bool next_batch(const EpochInProgress& now);
  std::size_t rows_in_step(std::size_t step) const;
  std::size_t rows_per_epoch() const;
  Json report();

  void gather_whole_tables();
  template <class Use>
  void with_whole_tables(Use&& use);
  double clip(double row_squares);
  bool validate_and_keep(Json& entry, std::string& summary);
  metrics::Metrics validation_metrics();
  void save_resumable(const std::optional<EpochInProgress>& in_progress);
  Json meta_of(std::int64_t epoch) const;
  Error diverged(const NonFinite& found, std::int64_t step) const;
  const Config& config() const { return model_->config(); }

  const TrainOptions& options_;
  std::unique_ptr<Communicator> alone_;  // the peers when options.peers names none
  Communicator& peers_;
  GradientExchange exchange_;
  const std::filesystem::path model_path_;
  UntilTrainingStarts setup_guard_;
  CheckpointFiles checkpoints_;
  std::unique_ptr<Model> model_;
  TrainerState state_;  // epochs done, early stopping, history; in_progress: the epoch a checkpoint stopped in
  bool stream_ = false;
  Splits data_;
  std::unique_ptr<TrainingRows> training_rows_;
  int threads_ = 1;
  std::vector<std::unique_ptr<Model::Workspace>> workspaces_;
  std::vector<const Model::Workspace*> workspace_views_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<RowOptimizer> row_optimizer_;
  std::unique_ptr<BatchBuilder> builder_;
  std::unique_ptr<Progress> progress_;
  bool validate_ = false;
  bool undefined_metric_said_ = false;
  Clock::time_point last_checkpoint_ = Clock::now();
  // Where the steps' time went (seconds) and what they sent, told at the end of a distributed run.
  struct StepTimes {
    double build = 0, compute = 0, exchange = 0, update = 0;
    std::uint64_t row_bytes = 0;  // of the bytes sent, those of the sharded rows' exchanges
  } step_times_;
  std::int64_t steps_at_start_ = 0;
  std::uint64_t bytes_at_start_ = 0;
  Batch batch_;
  BatchRows rows_;
  // On several ranks, the embedding rows are sharded: the model's tables are this rank's cache of
  // the rows its share of the step reads, the rows themselves and their optimizer live in shards_.
  std::unique_ptr<ShardedEmbeddings> shards_;
  // On several ranks, each reads its own part of the training files and draws its own batches;
  // a step trains on every rank's batch together. step_rows_: the rows of this step over every
  // rank; epoch_rows_: of an epoch (0 until known, when streamed); part_rows_: in memory, each
  // rank's training rows (from which every step's size follows); out_of_rows_: this rank's
  // batches of the epoch are all taken (it joins the remaining steps with none).
  std::size_t step_rows_ = 0;
  std::size_t epoch_rows_ = 0;
  std::vector<std::size_t> part_rows_;
  bool out_of_rows_ = false;
  Dataset no_rows_;
  // Rank 0: every row gathered at step whole_step_ (validation, the kept model).
  std::vector<EmbeddingTable> whole_;
  std::int64_t whole_step_ = -1;
};

Trainer::Trainer(const Config& requested, const TrainOptions& options)
    : options_(options), alone_(options.peers ? nullptr : single_process()),
      peers_(options.peers ? *options.peers : *alone_), exchange_(peers_), model_path_(options.run_dir / "model"),
      // A run that fails before its first step (data that does not load, a missing file) takes
      // back the folder it made, unless something worth reading (rejected rows) landed there.
      setup_guard_(options.run_dir, peers_.leader() && !std::filesystem::exists(options.run_dir)),
      checkpoints_(options.run_dir, requested.train.keep_checkpoints) {
  std::filesystem::create_directories(options.run_dir);
  if (options.resume)
    resume_from_checkpoint(requested);
  else
    start_fresh(requested);
  if (peers_.leader()) write_file_atomically(options.run_dir / "config.toml", to_toml(config()));
  check_every_rank_runs_the_same();  // before reading: the ranks must make the same collective calls
  load_data();
  if (!options.resume) fit_normalizer();
  if (peers_.size() > 1) shard_embeddings();
}

// Each rank keeps the rows it owns (of the fresh or resumed tables, unless its shard of a sharded
// checkpoint gave it them already) with their optimizer state; the model trains on a per-step
// cache of the rows it reads.
void Trainer::shard_embeddings() {
  if (!shards_)
    shards_ = std::make_unique<ShardedEmbeddings>(peers_, config().optimizer, model_->tables(), row_optimizer_.get());
  std::vector<EmbeddingTable> caches = shards_->make_caches(model_->tables());
  std::swap(model_->tables(), caches);
  row_optimizer_.reset();
}

// Rank 0 gets every row (once per step however often it is asked); the others send theirs.
// Not their optimizer state: validation and the kept model do not read it, and checkpoints are
// the ranks' own shards.
void Trainer::gather_whole_tables() {
  if (whole_step_ == adam_->steps()) return;
  shards_->gather(whole_, nullptr);
  whole_step_ = adam_->steps();
}

// Runs `use` on rank 0 with the model holding every row, as a single process's does.
template <class Use>
void Trainer::with_whole_tables(Use&& use) {
  if (!shards_) {
    if (peers_.leader()) use();
    return;
  }
  gather_whole_tables();
  if (!peers_.leader()) return;
  std::swap(model_->tables(), whole_);
  try {
    use();
  } catch (...) {
    std::swap(model_->tables(), whole_);
    throw;
  }
  std::swap(model_->tables(), whole_);
}

// Every rank reads the config and the data itself; ranks given different ones would build
// different tables and drift apart silently, so they compare what they read with rank 0's.
void Trainer::check_every_rank_runs_the_same() {
  if (peers_.size() == 1) return;
  // The training files (each rank reads its own part of them) by name and size.
  std::string files;
  for (const auto& file : expand_file_pattern(data_file(config(), config().data.train))) {
    std::error_code unsized;
    const auto size = std::filesystem::file_size(file, unsized);
    files += fmt::format("{} ({} bytes)\n", file.string(), unsized ? 0 : size);
  }
  const std::string mine = fmt::format("{}step {}\n{}", files, adam_->steps(), to_toml(config()));
  std::string leaders = mine;
  peers_.broadcast(leaders, 0);
  if (leaders != mine)
    throw Error(fmt::format("rank {} was given another config, training data or checkpoint than rank 0 (every rank "
                            "of a run needs the same command, the same files and the same run folder)",
                            peers_.rank()));
}

void Trainer::start_fresh(const Config& requested) {
  model_ = std::make_unique<Model>(requested);
  if (peers_.leader()) checkpoints_.forget_previous_run();
  make_optimizers("", nullptr);
}

void Trainer::resume_from_checkpoint(const Config& requested) {
  // Rank 0 chooses (setting refused checkpoints aside), every rank resumes the same one: a whole
  // file every rank loads, or a sharded one of which each rank reads only its own shard, its rows.
  const auto warn = [](const std::string& line) { std::fprintf(stderr, "heed: %s\n", line.c_str()); };
  Checkpoint cp = load_newest_everywhere(peers_, checkpoints_, warn, [&](const Checkpoint& manifest, std::istream& rows) {
    shards_ = std::make_unique<ShardedEmbeddings>(peers_, manifest.model->config().optimizer, manifest.model->tables(),
                                                  rows);
  });
  if (!cp.shards) shards_.reset();  // rows read from a set another rank refused
  check_resume_compatible(cp.model->config(), requested);
  // Rebuild with the updated keys, then take every weight from the checkpoint.
  model_ = std::make_unique<Model>(with_resumable_keys(cp.model->config(), requested));
  std::swap(model_->params(), cp.model->params());
  std::swap(model_->tables(), cp.model->tables());
  std::swap(model_->normalizer(), cp.model->normalizer());
  state_ = TrainerState::from_json(*cp.trainer, checkpoints_.latest().string());
  state_.stopping = resumed_stopping(state_.stopping, state_.epochs_done, cp.model->config().train, config().train);
  make_optimizers(cp.optimizer, &cp);
}

void Trainer::load_data() {
  const Config& c = config();
  stream_ = !options_.rows && should_stream(c.data, expand_file_pattern(data_file(c, c.data.train)));
  const bool shared = peers_.size() > 1;
  if (shared && options_.rows) throw Error("a distributed run reads its training rows from files, not from memory");
  const ReadShare share = shared ? ReadShare{peers_.rank(), peers_.size()} : ReadShare{};
  data_ = load_splits(c, model_->schema(), options_.run_dir, stream_, options_.rows, shared ? &peers_ : nullptr);
  if (shared && c.train.batch_size < peers_.size())
    throw Error(fmt::format("train.batch_size = {} is smaller than the {} ranks: each rank draws its share of every "
                            "batch, and a rank with a share of none would never train on its rows",
                            c.train.batch_size, peers_.size()));
  const BatchDraw draw = batch_draw(c, share);
  training_rows_ = stream_ ? streamed_rows(data_.train_files, c, model_->schema(), data_.held_out, *data_.train_log,
                                           data_.train_reported, draw, share)
                           : in_memory_rows(data_.train, c, draw);
  if (stream_) return;
  epoch_rows_ = data_.train.rows;
  if (shared) {  // a rank may hold none (fewer rows than ranks): only the whole run must have some
    std::vector<double> rows(static_cast<std::size_t>(peers_.size()), 0.0);
    rows[static_cast<std::size_t>(peers_.rank())] = static_cast<double>(epoch_rows_);
    peers_.sum(rows);
    epoch_rows_ = 0;
    for (double r : rows) part_rows_.push_back(static_cast<std::size_t>(r)), epoch_rows_ += part_rows_.back();
  }
  if (epoch_rows_ == 0) throw Error(fmt::format("{}: no training rows", data_file(c, c.data.train).string()));
}

// The dense inputs' statistics come from the training rows (a resumed run has them already).
void Trainer::fit_normalizer() {
  NumericNormalizer& normalizer = model_->normalizer();
  if (!normalizer.needs_statistics()) return;
  if (!stream_) {
    normalizer.add_to_fit(data_.train);
  } else {  // a pass over the files for the dense statistics
    training_rows_->start_epoch(0);
    BatchRows rows;
    while (training_rows_->next(rows)) normalizer.add_to_fit(rows.data->select({rows.rows.begin(), rows.rows.end()}));
  }
  if (peers_.size() > 1)  // each rank saw its own rows: every rank merges every rank's statistics
    normalizer.merge_partial_fits(peers_.all_to_all(
        std::vector<std::string>(static_cast<std::size_t>(peers_.size()), normalizer.partial_fit())));
  normalizer.finish_fit();
}

// Adam for the dense weights, the row optimizer for the embedding rows, with the checkpoint's
// state when resuming (an older checkpoint keeps the rows' state in its tables).
void Trainer::make_optimizers(const std::string& adam_state, const Checkpoint* resumed) {
  const Config& c = config();
  adam_ = std::make_unique<Adam>(model_->params(), c.optimizer);
  if (!adam_state.empty()) {
    std::istringstream in(adam_state);
    adam_->load(in);
  }
  row_optimizer_ = std::make_unique<RowOptimizer>(c.optimizer, model_->tables().size());
  if (resumed && !resumed->row_optimizer.empty()) {
    std::istringstream in(resumed->row_optimizer);
    row_optimizer_->load(in);
  } else if (resumed) {
    for (std::size_t k = 0; k < resumed->legacy_row_state.size(); ++k) {
      const EmbeddingTable& t = model_->tables()[k];
      if (resumed->legacy_row_state[k].size() != t.rows() * t.dim() * row_optimizer_->slots())
        throw Error(fmt::format("{}: the optimizer state of table '{}' does not match optimizer.embedding",
                                checkpoints_.latest().string(), t.name()));
      row_optimizer_->adopt(k, resumed->legacy_row_state[k]);
    }
  }
}

void Trainer::say_what_trains() {
  const Config& c = config();
  threads_ = resolve_threads(c.train.threads);
  const auto batch_size = static_cast<std::size_t>(c.train.batch_size);
  const auto threads = static_cast<std::size_t>(threads_);
  const auto ranks = static_cast<std::size_t>(peers_.size());
  const std::size_t share = (batch_size + ranks - 1) / ranks;  // this rank's rows of a batch, at most
  const Index per_thread = static_cast<Index>((share + threads - 1) / threads);
  for (int t = 0; t < threads_; ++t) workspaces_.push_back(model_->make_workspace(per_thread));
  for (const auto& ws : workspaces_) workspace_views_.push_back(ws.get());
  builder_ = std::make_unique<BatchBuilder>(model_->schema(), c.embedding);
  progress_ = std::make_unique<Progress>(peers_.leader() ? c.train.progress : ProgressMode::kNone, rows_per_epoch(),
                                         c.train.epochs);
  validate_ = data_.valid.rows > 0 && c.train.early_stop_metric != EarlyStopMetric::kNone;
  if (peers_.size() > 1) {  // rank 0 holds the validation rows: its answer is every rank's
    std::string validates(1, validate_ ? '1' : '0');
    peers_.broadcast(validates, 0);
    validate_ = validates == "1";
  }
  progress_->message(fmt::format(
      "training on {} ({} threads), validating on {}",
      stream_ ? fmt::format("{} streamed through a shuffle buffer of {} rows", c.data.train, c.data.shuffle_buffer)
              : fmt::format("{} rows", rows_per_epoch()),
      threads_, validate_ ? fmt::format("{} rows ({})", data_.valid.rows, data_.valid_source) : "nothing"));
  if (peers_.size() > 1)
    progress_->message(fmt::format("{} ranks, each reading its part of the training files and drawing its share of "
                                   "every batch of {} rows from it",
                                   peers_.size(), c.train.batch_size));
  steps_at_start_ = adam_->steps();
  bytes_at_start_ = peers_.bytes_sent();
  if (state_.in_progress)
    progress_->message(fmt::format("resuming epoch {} at row {} (step {})", state_.epochs_done + 1,
                                   state_.in_progress->next_row, adam_->steps()));
}

// The algorithm: epochs of optimizer steps over the training rows, each epoch validated, the
// best one kept, the state checkpointed so a stopped run continues exactly.
Json Trainer::run() {
  say_what_trains();
  setup_guard_.training_started();
  last_checkpoint_ = Clock::now();
  while (!state_.stopping.finished && state_.epochs_done < config().train.epochs) {
    const auto started = Clock::now();
    EpochInProgress now = begin_epoch();
    const auto resumed_started = started - std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(now.seconds));
    while (next_batch(now)) {
      train_on_batch(now);
      tell(now, resumed_started, nullptr);
      checkpoint_if_due(now, resumed_started);
    }
    finish_epoch(now, resumed_started);
    tell(now, resumed_started, &state_.history.back());
  }
  return report();
}

// The next epoch's rows, positioned where a checkpoint inside it stopped: the order depends
// only on the seed, the epoch and the data, so the same rows come next.
EpochInProgress Trainer::begin_epoch() {
  EpochInProgress now;
  if (state_.in_progress) now = *state_.in_progress, state_.in_progress.reset();
  const std::int64_t epoch = state_.epochs_done + 1;
  training_rows_->start_epoch(epoch);
  out_of_rows_ = false;
  if (peers_.size() > 1) {
    // Each rank passes the batches it drew before the checkpoint (a checkpoint from before
    // batches were counted stopped after whole global batches).
    const auto batch = static_cast<std::size_t>(config().train.batch_size);
    if (now.batches == 0) now.batches = (now.next_row + batch - 1) / batch;
    for (std::size_t b = 0; b < now.batches && !out_of_rows_; ++b) out_of_rows_ = !training_rows_->next(rows_);
  } else {
    for (std::size_t skipped = 0; skipped < now.next_row;) {
      if (!training_rows_->next(rows_))
        throw Error(fmt::format("--resume: the checkpoint stopped at row {} of an epoch, but the training data has {} rows",
                                now.next_row, skipped));
      skipped += rows_.rows.size();
    }
  }
  progress_->start_epoch(epoch);
  return now;
}

// The next step's rows into rows_; false when the epoch is over. On several ranks, a step goes
// on while any rank has rows left, and a rank whose batches ran out joins with none, adding
// zeros. The step's rows over every rank (which every row's loss divides by) follow from each
// rank's row count when the rows are in memory; streamed, the ranks add up their batches' sizes.
bool Trainer::next_batch(const EpochInProgress& now) {
  if (peers_.size() == 1) {
    if (!training_rows_->next(rows_)) return false;
    step_rows_ = rows_.rows.size();
    return true;
  }
  if (!out_of_rows_ && !training_rows_->next(rows_)) out_of_rows_ = true;
  if (out_of_rows_) rows_ = BatchRows{&no_rows_, {}};
  if (!part_rows_.empty()) {
    step_rows_ = rows_in_step(now.batches);
  } else {
    std::vector<double> rows{static_cast<double>(rows_.rows.size())};
    peers_.sum(rows);
    step_rows_ = static_cast<std::size_t>(rows[0]);
  }
  return step_rows_ > 0;
}

// Rows in memory: the rows of step `step` of an epoch over every rank, each drawing its share of
// train.batch_size from its own part until the part runs out.
std::size_t Trainer::rows_in_step(std::size_t step) const {
  std::size_t rows = 0;
  for (std::size_t r = 0; r < part_rows_.size(); ++r) {
    const std::size_t batch = batch_draw(config(), ReadShare{static_cast<int>(r), peers_.size()}).batch_size;
    const std::size_t taken = std::min(part_rows_[r], step * batch);
    const std::size_t drawn = std::min(batch, part_rows_[r] - taken);
    if (static_cast<int>(r) == peers_.rank())
      HEED_CHECK(drawn == rows_.rows.size(), "step {}: rank {} drew {} rows where its part gives {}", step, r,
                 rows_.rows.size(), drawn);
    rows += drawn;
  }
  return rows;
}

// Rows in an epoch over every rank (0 until a streamed epoch has counted them).
std::size_t Trainer::rows_per_epoch() const {
  return peers_.size() == 1 ? training_rows_->rows_per_epoch() : epoch_rows_;
}

// One optimizer step on the rows in rows_: forward and backward on every thread, the checks
// for NaN and Inf, clipping, then Adam on the dense weights and the row optimizer on the
// embedding rows the batch touched.
void Trainer::train_on_batch(EpochInProgress& now) {
  const Config& c = config();
  const std::int64_t step = adam_->steps() + 1;
  const std::uint64_t step_seed = mix64(c.train.seed ^ mix64(static_cast<std::uint64_t>(step) << 20));
  Rng batch_rng(step_seed);
  auto lap = Clock::now();
  const auto took = [&lap](double& total) {
    const auto now = Clock::now();
    total += std::chrono::duration<double>(now - lap).count();
    lap = now;
  };
  BatchShare share;
  if (shards_) {
    // This rank's batch of the step, read from rows fetched from their owners.
    whole_.clear(), whole_step_ = -1;
    ShardedEmbeddings::clear(model_->tables());
    builder_->build(*rows_.data, rows_.rows, /*training=*/true, &batch_rng, model_->tables(), model_->normalizer(),
                    batch_, threads_);
    took(step_times_.build);
    const std::uint64_t sent_before = peers_.bytes_sent();
    shards_->fetch(model_->tables());
    step_times_.row_bytes += peers_.bytes_sent() - sent_before;
    took(step_times_.exchange);
    share = {0, -1, peers_.rank() * threads_, static_cast<Index>(step_rows_)};
  } else {
    builder_->build(*rows_.data, rows_.rows, /*training=*/true, &batch_rng, model_->tables(), model_->normalizer(),
                    batch_, threads_);
    took(step_times_.build);
  }
  const double share_loss = train_step(*model_, batch_, workspaces_, threads_, step_seed, share);
  took(step_times_.compute);
  const double loss = exchange_.sum(*workspaces_[0], share_loss);
  double row_squares = 0;
  if (shards_) {
    std::vector<const std::vector<std::uint32_t>*> touched;
    std::vector<const std::vector<float>*> grads;
    for (std::size_t k = 0; k < batch_.tables.size(); ++k) {
      touched.push_back(&batch_.tables[k].touched);
      grads.push_back(&workspaces_[0]->table_gradients()[k]);
    }
    const std::uint64_t sent_before = peers_.bytes_sent();
    row_squares = shards_->send_gradients(model_->tables(), touched, grads);
    step_times_.row_bytes += peers_.bytes_sent() - sent_before;
  }
  took(step_times_.exchange);
  if (c.train.check_finite) {
    if (!std::isfinite(loss)) {
      if (!std::isfinite(share_loss)) throw diverged(*first_non_finite_stage(*model_, batch_, workspaces_, threads_, share), step);
      throw Error(fmt::format("training diverged at step {}: NaN or Inf in another rank's share of the batch", step));
    }
    if (auto found = first_non_finite_gradient(*model_, *workspaces_[0])) throw diverged(*found, step);
  }
  const double row_scale = c.optimizer.clip_norm > 0 ? clip(row_squares) : 1.0;
  now.loss_sum += loss;
  adam_->step(model_->params(), workspaces_[0]->gradients(), threads_);
  model_->update_running_statistics(workspace_views_);
  took(step_times_.update);
  exchange_.average_running_statistics(model_->params());
  took(step_times_.exchange);
  if (shards_) {
    if (auto bad = shards_->update(adam_->steps(), threads_, static_cast<float>(row_scale), c.train.check_finite))
      throw diverged(NonFinite{*bad + " after the update", {}}, step);
  } else {
    for (std::size_t k = 0; k < model_->tables().size(); ++k)
      row_optimizer_->update(k, model_->tables()[k], batch_.tables[k].touched, workspaces_[0]->table_gradients()[k].data(),
                             adam_->steps(), threads_);
  }
  if (c.train.check_finite)
    if (auto found = first_non_finite_weight(*model_, batch_)) {
      found->where += " after the update";
      throw diverged(*found, step);
    }
  took(step_times_.update);
  now.next_row += step_rows_;
  ++now.batches;
  progress_->update(now.next_row, now.loss_sum / static_cast<double>(now.next_row));
}

// Clips the step's gradients to optimizer.clip_norm; returns the factor the embedding rows'
// gradients take (one process: clip_gradients scales them itself; sharded: their owners do,
// after the ranks add up the squares of the summed row gradients each one holds).
double Trainer::clip(double row_squares) {
  const double max_norm = config().optimizer.clip_norm;
  if (!shards_) {
    clip_gradients(*workspaces_[0], max_norm);
    return 1.0;
  }
  double squares[1] = {row_squares};
  peers_.sum(squares);
  Gradients& summed = workspaces_[0]->gradients();
  const double norm = std::sqrt(squares[0] + summed.squared_norm());
  if (norm <= max_norm) return 1.0;
  const auto scale = static_cast<float>(max_norm / norm);
  summed.scale(scale);
  return scale;
}

// Gives options.on_update the news; when it answers false, stops with a checkpoint of this step
// (after an epoch's end, the epoch's own checkpoint is that).
void Trainer::tell(EpochInProgress& now, Clock::time_point started, const Json* epoch_end) {
  if (!options_.on_update) return;
  TrainingUpdate update;
  update.epoch = epoch_end ? state_.epochs_done : state_.epochs_done + 1;
  update.epochs = config().train.epochs;
  update.step = adam_->steps();
  update.rows_done = now.next_row;
  update.rows_per_epoch = rows_per_epoch();
  update.train_logloss = now.next_row ? now.loss_sum / static_cast<double>(now.next_row) : 0.0;
  update.epoch_end = epoch_end;
  if (options_.on_update(update)) return;
  if (!epoch_end) {
    now.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    save_resumable(now);
  }
  throw TrainingStopped(fmt::format("training stopped at step {} (epoch {}, row {}); the checkpoint in {} resumes it",
                                    adam_->steps(), update.epoch, now.next_row, options_.run_dir.string()));
}

// A checkpoint inside the epoch every train.checkpoint_steps steps or _minutes minutes; not
// after the epoch's last batch (when known), whose end-of-epoch checkpoint follows.
void Trainer::checkpoint_if_due(EpochInProgress& now, Clock::time_point started) {
  const TrainConfig& t = config().train;
  const std::size_t epoch_rows = rows_per_epoch();
  if (epoch_rows != 0 && now.next_row >= epoch_rows) return;
  bool due = (t.checkpoint_steps > 0 && adam_->steps() % t.checkpoint_steps == 0) ||
             (t.checkpoint_minutes > 0 &&
              std::chrono::duration<double>(Clock::now() - last_checkpoint_).count() >= t.checkpoint_minutes * 60);
  if (t.checkpoint_minutes > 0 && peers_.size() > 1) {  // rank 0's clock decides for all
    std::string decision(1, due ? '1' : '0');
    peers_.broadcast(decision, 0);
    due = decision == "1";
  }
  if (!due) return;
  now.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  save_resumable(now);
}

// The epoch's history entry, validation (keeping the model when it is the best so far) and
// the end-of-epoch checkpoint.
void Trainer::finish_epoch(const EpochInProgress& now, Clock::time_point started) {
  const Config& c = config();
  const std::int64_t epoch = ++state_.epochs_done;
  const std::size_t done = now.next_row;
  if (done == 0) throw Error(fmt::format("{}: no training rows", data_file(c, c.data.train).string()));
  progress_->set_rows_per_epoch(done);
  epoch_rows_ = done;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  Json entry{{"epoch", epoch}, {"train_logloss", now.loss_sum / static_cast<double>(done)},
             {"seconds", seconds}, {"samples_per_second", static_cast<double>(done) / seconds}};
  std::string summary = fmt::format("epoch {}: train logloss {:.5f}, {:.0f} samples/s", epoch,
                                    entry["train_logloss"].get<double>(), entry["samples_per_second"].get<double>());
  const bool keep = validate_and_keep(entry, summary);
  if (keep) with_whole_tables([&] { save_checkpoint(model_path_, *model_, meta_of(epoch), "", nullptr); });
  state_.history.push_back(entry);
  progress_->finish_epoch(summary);
  if (state_.stopping.finished)
    progress_->message(early_stop_text(state_.stopping, entry.value("early_stop_metric", std::string(choice_name(c.train.early_stop_metric))),
                                       c.train.patience));
  save_resumable(std::nullopt);
}

// Validates the epoch just trained into `entry` and `summary`; returns whether it is the best
// so far (always, without validation: the last epoch is kept).
bool Trainer::validate_and_keep(Json& entry, std::string& summary) {
  const Config& c = config();
  const std::int64_t epoch = state_.epochs_done;
  if (!validate_) {
    state_.stopping.best_epoch = epoch;
    return true;
  }
  const metrics::Metrics m = validation_metrics();
  entry["valid"] = metrics_json(m);
  double score = score_of(m, c.train.early_stop_metric);
  if (std::isnan(score)) {
    // AUC is undefined when the validation rows hold one class, gAUC when no user has both;
    // only the labels decide that, so it stays undefined every epoch and would keep epoch 1.
    if (!undefined_metric_said_)
      progress_->message(fmt::format("warning: valid {} is undefined ({}); early stopping uses valid logloss",
                                     choice_name(c.train.early_stop_metric),
                                     c.train.early_stop_metric == EarlyStopMetric::kGauc ? "no user in the validation rows has both labels"
                                                                         : "the validation rows hold one label"));
    undefined_metric_said_ = true;
    score = -m.logloss;
    entry["early_stop_metric"] = "logloss";
  }
  const bool keep = state_.stopping.observe(epoch, score, c.train.patience);
  // gAUC only where eval.group names the users it averages over (NaN otherwise).
  summary += fmt::format(", valid auc {:.5f}{} logloss {:.5f}{}", m.auc,
                         c.eval.group.empty() ? "" : fmt::format(" gauc {:.5f}", m.gauc), m.logloss,
                         keep ? " (kept)" : "");
  return keep;
}

// Training is over: its model (with the embedding rows), optimizers, workspaces and rows are
// freed before the kept model is loaded, so the run never holds two models at once.
Json Trainer::report() {
  RunFacts facts;
  facts.epochs_run = state_.epochs_done;
  facts.stopping = state_.stopping;
  facts.threads = threads_;
  facts.train_rows = rows_per_epoch();
  facts.streamed = stream_;
  facts.history = state_.history;
  facts.slice = config().eval.slice;
  facts.grouped = !config().eval.group.empty();
  if (shards_) {
    // Each rank's share of the embedding rows (its owned rows; the default rows count on rank 0).
    std::vector<double> rows(static_cast<std::size_t>(peers_.size()), 0.0);
    rows[static_cast<std::size_t>(peers_.rank())] = static_cast<double>(shards_->owned_rows());
    peers_.sum(rows);
    Json per_rank = Json::array();
    for (double r : rows) per_rank.push_back(static_cast<std::uint64_t>(r));
    facts.distributed = Json{{"ranks", peers_.size()}, {"embedding_rows_per_rank", per_rank}};
    progress_->message(fmt::format("embedding rows per rank: {}", fmt::join(rows, ", ")));
  }
  // Where a step's time went, for bench/mpi_scaling.sh (a run under mpirun only: a plain run's
  // output stays as it was).
  const std::int64_t steps = adam_->steps() - steps_at_start_;
  if (options_.peers && steps > 0) {
    const double per_step = 1000.0 / static_cast<double>(steps);
    progress_->message(fmt::format(
        "rank 0 of {}, per step over {} steps: build {:.3f} ms, forward+backward {:.3f} ms, exchange {:.3f} ms "
        "({} bytes sent, {} of them embedding rows), update {:.3f} ms",
        peers_.size(), steps, step_times_.build * per_step, step_times_.compute * per_step,
        step_times_.exchange * per_step, (peers_.bytes_sent() - bytes_at_start_) / static_cast<std::uint64_t>(steps),
        step_times_.row_bytes / static_cast<std::uint64_t>(steps), step_times_.update * per_step));
  }
  training_rows_.reset();
  whole_.clear();
  shards_.reset();
  workspace_views_.clear();
  workspaces_.clear();
  row_optimizer_.reset();
  adam_.reset();
  builder_.reset();
  model_.reset();
  // The kept model is whole in its file: rank 0 evaluates it, the others wait for the report.
  Json written;
  if (peers_.leader())
    written = write_run_report(options_.run_dir, model_path_, data_, facts,
                               [&](const std::string& line) { progress_->message(line); });
  if (peers_.size() == 1) return written;
  std::string text = peers_.leader() ? written.dump() : "";
  peers_.broadcast(text, 0);
  return Json::parse(text);
}

// The validation metrics of the model as it is: every rank holds the same model, so rank 0
// scores the validation rows and the others take its numbers (early stopping then decides the
// same on every rank).
metrics::Metrics Trainer::validation_metrics() {
  metrics::Metrics m{};
  with_whole_tables([&] { m = evaluate_dataset(*model_, data_.valid, threads_).overall; });
  if (peers_.size() == 1) return m;
  std::string bytes(reinterpret_cast<const char*>(&m), sizeof m);
  peers_.broadcast(bytes, 0);
  std::memcpy(&m, bytes.data(), sizeof m);
  return m;
}

Json Trainer::meta_of(std::int64_t epoch) const {
  return Json{{"format_version", kCheckpointVersion}, {"heed_version", HEED_VERSION}, {"trained_at", now_iso8601()},
              {"epoch", epoch}, {"train_rows", rows_per_epoch()}};
}

// The full training state: with the weights, Adam's moments and step, and the embedding rows'
// optimizer state, this is all a resumed run needs to take the same steps. One process writes it
// as one file; sharded ranks each write their own rows (a shard) and rank 0 the rest (the
// manifest, which commits the set), so no rank gathers another's rows for it.
void Trainer::save_resumable(const std::optional<EpochInProgress>& in_progress) {
  const std::int64_t step = adam_->steps();
  TrainerState saved = state_;
  saved.in_progress = in_progress;
  const auto dense_state = [&] {
    std::ostringstream adam_out;
    adam_->save(adam_out);
    return adam_out.str();
  };
  try {
    if (shards_) {
      save_sharded(peers_, checkpoints_, step, [&](std::ostream& out) { shards_->save(out); },
                   [&](const Json& shards) {
                     checkpoints_.save_manifest(step, *model_, meta_of(state_.epochs_done), dense_state(),
                                                saved.to_json(step), shards);
                   });
    } else if (peers_.leader()) {
      std::ostringstream rows_out;
      row_optimizer_->save(rows_out);
      checkpoints_.save(step, *model_, meta_of(state_.epochs_done), dense_state(), saved.to_json(step), rows_out.str());
    }
  } catch (const std::exception& e) {
    throw Error(fmt::format("training stopped at step {}: {}", step, e.what()));
  }
  last_checkpoint_ = Clock::now();
}

Error Trainer::diverged(const NonFinite& found, std::int64_t step) const {
  // The batch's row r -> "file:line" for messages.
  auto source_of = [&](std::size_t r) { return rows_.data->source_of(rows_.rows[r]); };
  std::vector<std::string> lines;
  for (std::size_t r : found.rows) {
    if (lines.size() == 5) break;
    lines.push_back(source_of(r));
  }
  std::vector<std::string> batch_lines;
  for (std::size_t r = 0; r < batch_.size && r < 5; ++r) batch_lines.push_back(source_of(r));
  const std::string rows =
      found.rows.empty()
          ? fmt::format("the batch of {} rows starts with {}", batch_.size, fmt::join(batch_lines, ", "))
          : fmt::format("in {} of the batch's {} rows: {}{}", found.rows.size(), batch_.size, fmt::join(lines, ", "),
                        found.rows.size() > lines.size() ? ", ..." : "");
  const auto kept = checkpoints_.present();
  return Error(fmt::format("training diverged at step {} (epoch {}): NaN or Inf first in the {}, {}. Nothing from "
                           "this step was saved; {}",
                           step, state_.epochs_done + 1, found.where, rows,
                           kept.empty() ? "no checkpoint had been written yet"
                                        : fmt::format("the last good checkpoint is {}", kept.front().string())));
}

}  // namespace

Json train(const Config& given, const TrainOptions& options) {
  // Quantile bucket edges come from the training files, before anything is built from the config.
  if (options.rows)
    for (const FeatureConfig& f : given.features)
      if (f.bucketize == Bucketize::kQuantile && f.boundaries.empty())
        throw Error(fmt::format("feature '{}': bucketize = \"quantile\" computes its edges from training files; with "
                                "rows from memory give them (bucketize = \"boundaries\", boundaries = [...])",
                                f.name));
  const Config requested =
      options.rows ? given : with_quantile_boundaries(given, expand_file_pattern(data_file(given, given.data.train)));
  Trainer trainer(requested, options);
  return trainer.run();
}

}  // namespace heed
