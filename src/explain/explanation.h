#pragma once
// What a trained model's attention-like modules learned, measured on a data file: the numbers
// behind `heed explain`'s report (html_report.h) and its JSON (explanation_json.h).
//
//   SENet  the gate weight of every gated field (axis field), embedding dimension (axis dim)
//          or field (mean of its elements' weights, axis element): mean and std over rows
//   DIN    per attention, a few sampled rows with their raw candidate, raw history and each
//          history item's weight; the weight by position from the most recent item; the
//          weight of items equal to the candidate (same table, same value) against the others
//   POSO   per gated hidden layer and per raw value of the pc features: the distribution of
//          gate values and the mean gate of every neuron; how far apart the values' means are
//
// Statistics stream over the scored rows (Welford); only the sampled rows keep their details.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/text_table.h"
#include "eval/evaluation.h"
#include "explain/permutation_importance.h"
#include "explain/running_stat.h"
#include "model/model.h"

namespace heed::explain {

struct Options {
  std::size_t rows = 20000;  // rows explained: every row of a smaller file, else evenly spaced
  std::size_t samples = 8;   // rows shown per DIN attention
  std::uint64_t seed = 1;    // which rows are shown
  int threads = 1;
  // POSO: every pc value is kept up to this many; past it the rarest pool as "(other)" (the
  // page lists all of them, but a value per user would not be readable).
  std::size_t max_pc_values = 40;
  std::size_t shuffles = 3;  // permutation importance: shuffles per field (0: none)
};

// One weight (field, dimension, gate, ...) over the scored rows.
struct WeightStat {
  std::string name;
  double mean = 0, std = 0, min = 0, max = 0;
  std::vector<double> dim_means;  // SENet axis element: the mean weight of each of the E elements
};

struct FeatureSummary {
  std::string name, kind, column, table, pooling;  // pooling: sum|mean|din, "" when none
  int field = -1;                                  // -1: a dense input
};

struct Summary {
  std::string model_path, data_path;
  nlohmann::json meta;        // the checkpoint's metadata
  std::size_t file_rows = 0;  // data rows in the file
  std::size_t rows = 0;       // rows explained
  Index dim = 0;
  std::vector<std::int64_t> hidden;
  std::vector<FeatureSummary> features;
  bool senet = false, din = false, poso = false;
  std::optional<Evaluation> evaluation;  // when the file has labels
  std::string slice_column;
};

struct SenetReport {
  bool enabled = false;
  std::string axis, squeeze, gate;
  std::int64_t reduction = 0;
  // axis field and element: one entry per gated field, ranked by mean (descending). Axis
  // element: a row's field weight is the mean of the field's E element weights.
  std::vector<WeightStat> fields;
  // axis dim: one entry per embedding dimension ("dim 0", ...), shared by every gated field,
  // in dimension order.
  std::vector<WeightStat> dims;
};

struct DinItem {
  std::vector<std::string> values;  // one per key feature (the lead, then attend_with)
  double weight = 0;
};

struct DinSample {
  std::size_t row = 0;             // among the explained rows
  std::uint64_t line = 0;          // in the data file
  std::vector<std::string> query;  // one per query feature
  std::vector<DinItem> history;    // oldest first, most recent last
  double score = 0;                // predicted click probability
  std::optional<float> label;
  std::string pc_value;  // POSO's pc value of the row ("" when POSO is off)
};

// Weight of history items whose value equals the candidate's (a key feature and its query
// sharing one table), against the other items.
struct DinMatch {
  std::string key_feature, query_feature;
  RunningStat match, other;
};

struct DinReport {
  std::string name;  // the lead key feature
  std::vector<std::string> key_features, query_features;
  std::string normalize;  // din.normalize: raw, softmax, mean or sqrtn
  std::size_t max_len = 0;
  RunningStat weight;                   // every history item's weight
  std::vector<RunningStat> by_recency;  // [0]: the most recent item, [1]: the one before, ...
  RunningStat row_sum;                  // sum of a row's weights (rows with a history)
  RunningStat length;                   // history length, every row
  std::uint64_t empty_rows = 0;
  std::vector<DinMatch> matches;
  std::vector<DinSample> samples;  // in row order
};

struct PosoValue {
  std::string value;  // raw pc value(s), joined by " / " when there are several pc features
  std::uint64_t rows = 0;
  RunningStat gate;                  // every gate value of every row with this pc value
  Histogram histogram;               // of the same, over [0, scale]
  std::vector<double> neuron_means;  // [width] mean gate of each neuron
};

struct PosoDifference {
  std::string a, b;
  double mean_abs = 0;  // mean over neurons of |mean gate under a - under b|
  double max_abs = 0;
  Index max_neuron = 0;
};

struct PosoLayer {
  Index layer = 0, width = 0;
  bool gated = false;
  std::vector<PosoValue> values;            // in the order of PosoReport::values
  std::vector<PosoDifference> differences;  // every pair of values
};

struct PosoReport {
  bool enabled = false;
  std::vector<std::string> features;  // pc features
  double scale = 0;                   // gates lie in (0, scale)
  bool all_fields = false;
  std::vector<PosoLayer> layers;  // every hidden layer
  std::size_t pooled_values = 0;  // distinct pc values pooled into "(other)" (past the cap)
};

struct Explanation {
  Summary summary;
  SenetReport senet;
  std::vector<DinReport> din;  // one per DIN attention (empty when DIN is off)
  PosoReport poso;
  PermutationReport importance;  // per field, when the rows have labels
};

// True when every weight's mean lies in a band narrower than a quarter of the largest mean:
// the gate barely tells the fields apart, so their order says little.
bool weights_in_narrow_band(const std::vector<WeightStat>& weights);

// Scores the explained rows of `data_path` with `model` and collects every module's numbers.
// `meta` and `model_path` only go into the summary. Throws heed::Error on unreadable data.
Explanation explain(Model& model, const nlohmann::json& meta, const std::string& model_path,
                    const std::filesystem::path& data_path, const Options& options);
// The same for rows held in memory (a DataFrame's table): the report names the table and shows
// its cells as the TSV it stands for would hold them.
Explanation explain(Model& model, const nlohmann::json& meta, const std::string& model_path, const TextTable& table,
                    const Options& options);

}  // namespace heed::explain
