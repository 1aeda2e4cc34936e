#pragma once
// The typed configuration of a run. Every key, its default, its check, its help text and
// whether --resume may change it are declared once, in options.cpp; this header only holds the
// values. Members start blank (zero, empty), never at a default of their own: a Config with
// its defaults is default_config() (config/options.h), and a test checks every member has
// exactly one declaration.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/choices.h"

namespace heed {

struct DataConfig {
  std::string dir;               // folder the split files are relative to
  std::string train, valid, test;
  DataFormat format{};
  std::string delimiter;         // empty: the format's own
  bool header{};
  std::vector<std::string> columns;  // column names when the files have no header; sparse formats: field names
  std::string label;
  std::vector<double> label_values;  // [negative, positive] as the files write them
  double label_threshold{};  // set: a number >= it is positive
  std::vector<std::string> label_texts;  // [negative, positive] as text (instead of numbers)
  SparseFields sparse_fields{};  // libsvm: which field an idx:val pair feeds
  std::vector<std::int64_t> field_starts;  // libsvm with "ranges": first index of each field
  double valid_fraction{};   // carved from train when no valid file is given
  std::string valid_by;          // column whose value decides the carve (empty: the row)
  std::string valid_by_time;     // timestamp column: the carve holds out the latest rows
  // streaming
  StreamMode stream{};
  std::int64_t shuffle_buffer{};  // rows held for shuffling when streaming
  std::int64_t parser_threads{};  // threads parsing chunks when streaming
  // bad input
  OnError on_error{};
  double max_skip_fraction{};  // skip: share of bad rows that still stops the run
  std::string rejects_dir;       // skip: folder of the rejected-lines files (empty: the run folder)
  std::int64_t max_line_bytes{};  // longer lines are bad rows (memory stays bounded)
  std::int64_t max_field_bytes{};  // longer fields are bad rows
};

enum class FeatureKind { kCategorical, kMulti, kSequence, kNumeric };

struct FeatureConfig {
  std::string name;
  FeatureKind kind{};
  std::string column;     // source column (default: the feature's name)
  std::string table;      // embedding table (default: the feature's name); shared by naming it
  std::string separator;  // between values of multi / sequence features
  std::optional<Pooling> pooling;  // unset: embedding.multi_pooling or sequence_pooling
  std::int64_t max_len{};  // values kept (sequences keep the most recent)
  std::string padding;     // a value that marks an empty slot of a multi or sequence feature ("": none)
  // numeric features
  NumericTransform transform{};
  Bucketize bucketize{};  // kNone: a dense input
  std::vector<double> boundaries;  // given, or (quantile) computed from the training data
  std::int64_t quantiles{};     // bucketize = "quantile": number of buckets
  // DIN pooling (pooling = "din")
  std::vector<std::string> query;        // the query feature(s): the candidate item, its category, ...
  std::vector<std::string> attend_with;  // sequences aligned with this one, attended as one tuple
};

struct EmbeddingConfig {
  std::int64_t dim{};
  std::int64_t buckets{};  // 0: growable tables; N: every table hashes into N fixed rows
  double init_std{};
  UnseenPolicy unseen{};
  double default_rate{}; // share of training lookups routed to the learned default row
  Pooling multi_pooling{};     // pooling of a multi feature that names none
  Pooling sequence_pooling{};  // pooling of a sequence feature that names none
};

struct ModelConfig {
  std::vector<std::int64_t> hidden;
  ActivationKind activation{};
  double dropout{};
};

struct SenetConfig {
  bool enabled{};
  SenetAxis axis{};
  SenetSqueeze squeeze{};
  std::int64_t reduction{};
  SenetGate gate{};  // final activation of the excitation
  std::vector<std::string> fields;  // features gated; empty: every embedding feature
  double weight_l1{};  // training pressure towards weight 0 (see Senet::backward)
};

struct DinConfig {
  bool enabled{};               // false: DIN-pooled features fall back to plain pooling
  std::vector<std::int64_t> hidden;  // activation unit widths
  DinActivation activation{};
  DinNormalize normalize{};
};

struct PosoConfig {
  bool enabled{};
  std::vector<std::string> features;  // personalization (pc) features feeding the gates
  std::vector<std::int64_t> layers;   // hidden layers gated; empty: all
  std::int64_t gate_hidden{};
  double scale{};                 // C in C * sigmoid
  bool all_fields{};            // also feed a stop-gradient copy of every field
};

struct OptimizerConfig {
  double lr{};            // dense weights (Adam)
  double embedding_lr{};
  EmbeddingOptimizer embedding{};
  double beta1{}, beta2{}, epsilon{};  // Adam's (epsilon: also Adagrad's)
  double l2_embedding{};   // on the rows a batch touched
  double l2_dense{};
  double adagrad_initial{};
  double clip_norm{};      // global L2 norm of a step's gradients; 0: no clipping
};

struct TrainConfig {
  std::int64_t epochs{};
  std::int64_t batch_size{};
  std::int64_t threads{};  // 0: every core
  std::uint64_t seed{};
  bool shuffle{};
  EarlyStopMetric early_stop_metric{};
  std::int64_t patience{};
  ProgressMode progress{};
  std::int64_t checkpoint_steps{};     // also checkpoint every N steps within an epoch (0: epoch ends only)
  double checkpoint_minutes{};       // ... and every this many minutes (0: off)
  std::int64_t keep_checkpoints{};     // checkpoints kept in the run folder (the newest is `checkpoint`)
  bool check_finite{};              // stop on NaN/Inf in loss, gradients or weights
  TrainPrecision precision{};       // training products of the MLP and POSO: fp32, or bf16 with fp32 sums
};

struct EvalConfig {
  std::string group;  // column that defines a user for gAUC (empty: no gAUC)
  std::string slice;  // column whose values get metrics of their own (empty: none)
  std::int64_t batch_size{};
};

struct ScoringConfig {
  Precision precision{};  // the products of predict, eval and serve (training: train.precision)
};

struct Config {
  DataConfig data;
  std::vector<FeatureConfig> features;  // in the order they were declared
  EmbeddingConfig embedding;
  ModelConfig model;
  SenetConfig senet;
  DinConfig din;
  PosoConfig poso;
  OptimizerConfig optimizer;
  TrainConfig train;
  EvalConfig eval;
  ScoringConfig scoring;

  const FeatureConfig* find_feature(const std::string& name) const;
};

const char* to_string(FeatureKind kind);

}  // namespace heed
