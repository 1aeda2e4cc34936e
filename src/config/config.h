#pragma once
// The typed configuration of a run. Every key, its default, its check and its help text are
// declared once, in config_options.cpp; this header only holds the values.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace heed {

struct DataConfig {
  std::string dir;               // folder the split files are relative to
  std::string train, valid, test;
  std::string format;            // "tsv", "csv", "libsvm", "libffm" or "criteo"
  std::string delimiter;         // empty: the format's own
  bool header = true;
  std::vector<std::string> columns;  // column names when the files have no header; sparse formats: field names
  std::string label;
  std::vector<double> label_values;  // [negative, positive] as the files write them
  double label_threshold = std::numeric_limits<double>::quiet_NaN();  // set: a number >= it is positive
  std::vector<std::string> label_texts;  // [negative, positive] as text (instead of numbers)
  std::string sparse_fields;     // libsvm: "position" or "ranges" (which field an idx:val pair feeds)
  std::vector<std::int64_t> field_starts;  // libsvm with "ranges": first index of each field
  double valid_fraction = 0.0;   // carved from train when no valid file is given
  std::string valid_by;          // column whose value decides the carve (empty: the row)
  std::string valid_by_time;     // timestamp column: the carve holds out the latest rows
  // streaming
  std::string stream;            // "auto", "on" or "off"
  std::int64_t shuffle_buffer = 0;  // rows held for shuffling when streaming
  std::int64_t parser_threads = 1;  // threads parsing chunks when streaming
  // bad input
  std::string on_error;          // "fail" or "skip"
  double max_skip_fraction = 0.0;// skip: share of bad rows that still stops the run
  std::string rejects_dir;       // skip: folder of the rejected-lines files (empty: the run folder)
  std::int64_t max_line_bytes = 16 << 20;  // longer lines are bad rows (memory stays bounded)
  std::int64_t max_field_bytes = 0;
};

enum class FeatureKind { kCategorical, kMulti, kSequence, kNumeric };

struct FeatureConfig {
  std::string name;
  FeatureKind kind = FeatureKind::kCategorical;
  std::string column;     // source column (default: the feature's name)
  std::string table;      // embedding table (default: the feature's name); shared by naming it
  std::string separator;  // between values of multi / sequence features
  std::string pooling;    // "sum", "mean" or "din"
  std::int64_t max_len = 0;  // values kept (sequences keep the most recent)
  // numeric features
  std::string transform;  // "none", "log1p", "standardize", "minmax"
  std::string bucketize;  // "" (dense input), "log2", "boundaries" or "quantile"
  std::vector<double> boundaries;  // given, or (quantile) computed from the training data
  std::int64_t quantiles = 16;     // bucketize = "quantile": number of buckets
  // DIN pooling (pooling = "din")
  std::vector<std::string> query;        // the query feature(s): the candidate item, its category, ...
  std::vector<std::string> attend_with;  // sequences aligned with this one, attended as one tuple
};

struct EmbeddingConfig {
  std::int64_t dim = 16;
  std::int64_t buckets = 0;  // 0: growable tables; N: every table hashes into N fixed rows
  double init_std = 0.05;
  std::string unseen;        // "zero" or "default"
  double default_rate = 0.0; // share of training lookups routed to the learned default row
  std::string multi_pooling;     // pooling of a multi feature that names none
  std::string sequence_pooling;  // pooling of a sequence feature that names none
};

struct ModelConfig {
  std::vector<std::int64_t> hidden;
  std::string activation;  // "relu" or "prelu"
  double dropout = 0.0;
};

struct SenetConfig {
  bool enabled = false;
  std::string axis;     // "field", "dim" or "element"
  std::string squeeze;  // "mean" or "dense"
  std::int64_t reduction = 3;
  std::string gate;     // final activation: "sigmoid", "relu" or "none"
  std::vector<std::string> fields;  // features gated; empty: every embedding feature
  double weight_l1 = 0;  // training pressure towards weight 0 (see Senet::backward)
};

struct DinConfig {
  bool enabled = true;               // false: DIN-pooled features fall back to plain pooling
  std::vector<std::int64_t> hidden;  // activation unit widths
  std::string activation;            // "prelu" or "dice"
  std::string normalize;             // "raw" (the paper), "softmax", "mean" or "sqrtn"
};

struct PosoConfig {
  bool enabled = false;
  std::vector<std::string> features;  // personalization (pc) features feeding the gates
  std::vector<std::int64_t> layers;   // hidden layers gated; empty: all
  std::int64_t gate_hidden = 32;
  double scale = 2.0;                 // C in C * sigmoid
  bool all_fields = false;            // also feed a stop-gradient copy of every field
};

struct OptimizerConfig {
  double lr = 1e-3;            // dense weights (Adam)
  double embedding_lr = 1e-3;
  std::string embedding;       // "adam" or "adagrad"
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double l2_embedding = 0.0;   // on the rows a batch touched
  double l2_dense = 0.0;
  double adagrad_initial = 0.1;
  double clip_norm = 0.0;      // global L2 norm of a step's gradients; 0: no clipping
};

struct TrainConfig {
  std::int64_t epochs = 5;
  std::int64_t batch_size = 1024;
  std::int64_t threads = 0;  // 0: every core
  std::uint64_t seed = 1;
  bool shuffle = true;
  std::string early_stop_metric;  // "auc", "gauc", "logloss" or "none"
  std::int64_t patience = 2;
  std::string progress;  // "auto", "bar", "log", "none"
  std::int64_t checkpoint_steps = 0;     // also checkpoint every N steps within an epoch (0: epoch ends only)
  double checkpoint_minutes = 0.0;       // ... and every this many minutes (0: off)
  std::int64_t keep_checkpoints = 2;     // checkpoints kept in the run folder (the newest is `checkpoint`)
  bool check_finite = true;              // stop on NaN/Inf in loss, gradients or weights
};

struct EvalConfig {
  std::string group;  // column that defines a user for gAUC (empty: no gAUC)
  std::string slice;  // column whose values get metrics of their own (empty: none)
  std::int64_t batch_size = 4096;
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

  const FeatureConfig* find_feature(const std::string& name) const;
};

const char* to_string(FeatureKind kind);

}  // namespace heed
