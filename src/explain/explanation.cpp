#include "explain/explanation.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"
#include "core/sigmoid.h"
#include "data/dataset_loader.h"
#include "data/text_table.h"
#include "embedding/batch_builder.h"
#include "explain/raw_rows.h"
#include "explain/value_order.h"

namespace heed::explain {
namespace {

// Rows are scored in chunks of this size, one chunk per thread at a time; statistics are
// collected from the chunks in row order, so they do not depend on the thread count.
constexpr Index kChunkRows = 256;
constexpr std::size_t kGateBins = 1000;  // over [0, scale]: quantiles to 0.1% of the range
constexpr const char* kOtherValue = "(other)";

// Every row of the file, or `wanted` of them evenly spaced.
std::vector<std::size_t> pick_rows(std::size_t total, std::size_t wanted) {
  std::vector<std::size_t> rows;
  if (wanted == 0 || total <= wanted) {
    rows.resize(total);
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    return rows;
  }
  rows.reserve(wanted);
  for (std::size_t i = 0; i < wanted; ++i)
    rows.push_back(static_cast<std::size_t>(static_cast<unsigned __int128>(i) * total / wanted));
  return rows;
}

// Up to k rows with a non-empty history in `column`, drawn uniformly (reservoir), in row order.
std::vector<std::size_t> sample_rows(const KeyColumn& column, std::size_t rows, std::size_t k,
                                     Rng& rng) {
  std::vector<std::size_t> chosen;
  std::size_t seen = 0;
  for (std::size_t r = 0; r < rows && k > 0; ++r) {
    if (column.count(r) == 0) continue;
    ++seen;
    if (chosen.size() < k) {
      chosen.push_back(r);
    } else {
      const std::uint64_t j = rng.below(seen);
      if (j < k) chosen[j] = r;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::string field_name(const Schema& schema, Index field) {
  for (const FeatureInfo& f : schema.features)
    if (f.field == field) return f.name;
  return fmt::format("field {}", field);
}

Summary make_summary(const Model& model, const nlohmann::json& meta, const std::string& model_path,
                     const std::string& data_name) {
  const Schema& schema = model.schema();
  Summary s;
  s.model_path = model_path;
  s.data_path = data_name;
  s.meta = meta;
  s.dim = model.dim();
  s.hidden = model.config().model.hidden;
  for (const FeatureInfo& f : schema.features) {
    FeatureSummary fs;
    fs.name = f.name;
    fs.kind = to_string(f.kind);
    fs.column = f.column;
    if (f.table >= 0) fs.table = schema.tables[static_cast<std::size_t>(f.table)].name;
    if (f.has_values()) fs.pooling = choice_name(f.pooling);
    fs.field = f.field;
    s.features.push_back(std::move(fs));
  }
  s.senet = model.senet() != nullptr;
  s.din = !model.din().empty();
  s.poso = model.poso() != nullptr;
  s.slice_column = model.config().eval.slice;
  return s;
}

// --- SENet ------------------------------------------------------------------------------------

class SenetCollector {
 public:
  explicit SenetCollector(const Model& model) : senet_(model.senet()) {
    if (!senet_) return;
    const Index width = senet_->options().axis == SenetAxis::kDim
                            ? senet_->dim()
                            : static_cast<Index>(senet_->gated_fields().size());
    stats_.resize(static_cast<std::size_t>(width));
    if (senet_->options().axis == SenetAxis::kElement)
      element_sums_.assign(static_cast<std::size_t>(senet_->weight_width()), 0.0);
  }

  void add(const Model::Workspace& ws, Index rows) {
    if (!senet_) return;
    const ConstMatrixView w = ws.senet_weights().topRows(rows);
    const Index E = senet_->dim();
    for (Index i = 0; i < rows; ++i) {
      if (senet_->options().axis != SenetAxis::kElement) {
        for (Index c = 0; c < w.cols(); ++c) stats_[static_cast<std::size_t>(c)].add(w(i, c));
        continue;
      }
      for (std::size_t g = 0; g < stats_.size(); ++g) {
        double sum = 0;
        for (Index e = 0; e < E; ++e) {
          const double v = w(i, static_cast<Index>(g) * E + e);
          sum += v;
          element_sums_[g * static_cast<std::size_t>(E) + static_cast<std::size_t>(e)] += v;
        }
        stats_[g].add(sum / static_cast<double>(E));
      }
    }
    rows_ += static_cast<std::size_t>(rows);
  }

  SenetReport finish(const Model& model) const {
    SenetReport r;
    if (!senet_) return r;
    const SenetConfig& c = model.config().senet;
    r.enabled = true;
    r.axis = choice_name(c.axis);
    r.squeeze = choice_name(c.squeeze);
    r.gate = choice_name(c.gate);
    r.reduction = c.reduction;
    const auto E = static_cast<std::size_t>(senet_->dim());
    for (std::size_t i = 0; i < stats_.size(); ++i) {
      WeightStat w;
      const RunningStat& s = stats_[i];
      w.mean = s.mean();
      w.std = s.stddev();
      w.min = s.min();
      w.max = s.max();
      if (senet_->options().axis == SenetAxis::kDim) {
        w.name = fmt::format("dim {}", i);
        r.dims.push_back(std::move(w));
        continue;
      }
      w.name = field_name(model.schema(), senet_->gated_fields()[i]);
      if (!element_sums_.empty())
        for (std::size_t e = 0; e < E; ++e)
          w.dim_means.push_back(rows_ > 0 ? element_sums_[i * E + e] / static_cast<double>(rows_)
                                          : 0.0);
      r.fields.push_back(std::move(w));
    }
    std::stable_sort(r.fields.begin(), r.fields.end(),
                     [](const WeightStat& a, const WeightStat& b) { return a.mean > b.mean; });
    return r;
  }

 private:
  const Senet* senet_;
  std::vector<RunningStat> stats_;  // per gated field (axis field, element) or dimension (axis dim)
  std::vector<double> element_sums_;  // axis element: [n*E] sums of every element's weight
  std::size_t rows_ = 0;
};

// --- DIN --------------------------------------------------------------------------------------

class DinCollector {
 public:
  DinCollector(const Model& model, std::size_t group, const Dataset& data, const Options& options)
      : model_(model), group_(group), data_(data) {
    const Schema& schema = model.schema();
    const DinGroup& g = schema.din_groups[group];
    const FeatureInfo& lead = schema.features[static_cast<std::size_t>(g.keys[0])];
    report_.name = lead.name;
    for (int k : g.keys)
      report_.key_features.push_back(schema.features[static_cast<std::size_t>(k)].name);
    for (int q : g.queries)
      report_.query_features.push_back(schema.features[static_cast<std::size_t>(q)].name);
    report_.normalize = choice_name(model.config().din.normalize);
    report_.max_len = lead.max_len;
    for (std::size_t k = 0; k < g.keys.size(); ++k) {
      const FeatureInfo& key = schema.features[static_cast<std::size_t>(g.keys[k])];
      const FeatureInfo& query = schema.features[static_cast<std::size_t>(g.queries[k])];
      if (key.table != query.table) continue;
      report_.matches.push_back({key.name, query.name, {}, {}});
      match_features_.push_back(k);
    }
    Rng rng(mix64(options.seed ^ mix64(0x64696eULL /* "din" */ + group)));
    sampled_ = sample_rows(data.keys[static_cast<std::size_t>(g.keys[0])], data.rows,
                           options.samples, rng);
    report_.samples.resize(sampled_.size());
    for (std::size_t i = 0; i < sampled_.size(); ++i) report_.samples[i].row = sampled_[i];
  }

  const std::vector<std::size_t>& sampled() const { return sampled_; }
  DinSample& sample(std::size_t i) { return report_.samples[i]; }

  // Rows [first, first + rows) of the explained data were scored into ws.
  void add(const Model::Workspace& ws, std::size_t first, Index rows,
           const std::vector<float>& scores) {
    const DinGroup& g = model_.schema().din_groups[group_];
    const std::span<const std::uint32_t> offsets = ws.din_offsets(group_);
    const float* weights = ws.din_weights(group_);
    for (Index i = 0; i < rows; ++i) {
      const std::size_t row = first + static_cast<std::size_t>(i);
      const std::uint32_t begin = offsets[static_cast<std::size_t>(i)],
                          end = offsets[static_cast<std::size_t>(i) + 1];
      const std::size_t length = end - begin;
      report_.length.add(static_cast<double>(length));
      if (length == 0) {
        ++report_.empty_rows;
      } else {
        double sum = 0;
        for (std::uint32_t j = begin; j < end; ++j) {
          const double w = weights[j];
          sum += w;
          report_.weight.add(w);
          const std::size_t recency = end - 1 - j;
          if (report_.by_recency.size() <= recency) report_.by_recency.resize(recency + 1);
          report_.by_recency[recency].add(w);
        }
        report_.row_sum.add(sum);
      }
      for (std::size_t m = 0; m < match_features_.size(); ++m) {
        const std::size_t k = match_features_[m];
        const KeyColumn& keys = data_.keys[static_cast<std::size_t>(g.keys[k])];
        const KeyColumn& query = data_.keys[static_cast<std::size_t>(g.queries[k])];
        const std::uint64_t candidate = query.keys[query.offsets[row]];
        for (std::size_t j = 0; j < length; ++j) {
          const double w = weights[begin + j];
          (keys.keys[keys.offsets[row] + j] == candidate ? report_.matches[m].match
                                                         : report_.matches[m].other)
              .add(w);
        }
      }
      while (next_sample_ < sampled_.size() && sampled_[next_sample_] == row) {
        DinSample& s = report_.samples[next_sample_++];
        if (s.history.size() != length)
          throw Error(fmt::format("line {}: {} raw values of '{}' but {} attended keys", s.line,
                                  s.history.size(), report_.name, length));
        for (std::size_t j = 0; j < length; ++j) s.history[j].weight = weights[begin + j];
        s.score = scores[row];
        if (data_.has_labels()) s.label = data_.labels[row];
      }
    }
  }

  DinReport finish() { return std::move(report_); }

 private:
  const Model& model_;
  std::size_t group_;
  const Dataset& data_;
  DinReport report_;
  std::vector<std::size_t> match_features_;  // key positions k whose query shares the table
  std::vector<std::size_t> sampled_;         // explained rows shown, ascending
  std::size_t next_sample_ = 0;
};

// --- POSO -------------------------------------------------------------------------------------

class PosoCollector {
 public:
  // values: the pc value names; value_of: per explained row, its index into values.
  PosoCollector(const Model& model, std::vector<std::string> values,
                std::vector<std::uint32_t> value_of)
      : poso_(model.poso()), value_of_(std::move(value_of)) {
    if (!poso_) return;
    report_.enabled = true;
    for (int f : model.schema().poso_features)
      report_.features.push_back(model.schema().features[static_cast<std::size_t>(f)].name);
    report_.scale = poso_->options().scale;
    report_.all_fields = model.config().poso.all_fields;
    for (std::size_t l = 0; l < poso_->layer_widths().size(); ++l) {
      PosoLayer layer;
      layer.layer = static_cast<Index>(l);
      layer.width = poso_->layer_widths()[l];
      layer.gated = poso_->gated()[l];
      if (layer.gated)
        for (const std::string& v : values) {
          PosoValue pv;
          pv.value = v;
          pv.histogram = Histogram(0.0, report_.scale, kGateBins);
          pv.neuron_means.assign(static_cast<std::size_t>(layer.width), 0.0);  // sums until finish
          layer.values.push_back(std::move(pv));
        }
      report_.layers.push_back(std::move(layer));
    }
  }

  void add(const Model::Workspace& ws, std::size_t first, Index rows) {
    if (!poso_) return;
    const std::span<const Matrix* const> gates = ws.poso_gates();
    for (std::size_t l = 0; l < gates.size(); ++l) {
      if (!gates[l]) continue;
      const Matrix& g = *gates[l];
      for (Index i = 0; i < rows; ++i) {
        PosoValue& v = report_.layers[l].values[value_of_[first + static_cast<std::size_t>(i)]];
        ++v.rows;
        for (Index n = 0; n < g.cols(); ++n) {
          const double x = g(i, n);
          v.gate.add(x);
          v.histogram.add(x);
          v.neuron_means[static_cast<std::size_t>(n)] += x;
        }
      }
    }
  }

  PosoReport finish() {
    for (PosoLayer& layer : report_.layers) {
      for (PosoValue& v : layer.values)
        for (double& m : v.neuron_means) m = v.rows > 0 ? m / static_cast<double>(v.rows) : 0.0;
      for (std::size_t a = 0; a < layer.values.size(); ++a)
        for (std::size_t b = a + 1; b < layer.values.size(); ++b) {
          const PosoValue &va = layer.values[a], &vb = layer.values[b];
          if (va.rows == 0 || vb.rows == 0) continue;
          PosoDifference d;
          d.a = va.value;
          d.b = vb.value;
          double sum = 0;
          for (std::size_t n = 0; n < va.neuron_means.size(); ++n) {
            const double diff = std::abs(va.neuron_means[n] - vb.neuron_means[n]);
            sum += diff;
            if (diff > d.max_abs) {
              d.max_abs = diff;
              d.max_neuron = static_cast<Index>(n);
            }
          }
          d.mean_abs =
              va.neuron_means.empty() ? 0.0 : sum / static_cast<double>(va.neuron_means.size());
          layer.differences.push_back(d);
        }
    }
    return std::move(report_);
  }

 private:
  const PosoGates* poso_;
  std::vector<std::uint32_t> value_of_;
  PosoReport report_;
};

// --- the raw pass -----------------------------------------------------------------------------

// POSO's pc value of every explained row, as names and one index per row. Values past the
// `max_values - 1` most frequent pool into "(other)"; names are in natural order (numbers as
// numbers), "(other)" last.
struct PcValues {
  std::vector<std::string> names;
  std::vector<std::uint32_t> of_row;
  std::size_t pooled = 0;  // distinct values pooled into "(other)"
};

void cap_pc_values(PcValues& pc, std::size_t max_values) {
  std::vector<std::uint64_t> counts(pc.names.size(), 0);
  for (std::uint32_t v : pc.of_row) ++counts[v];
  std::vector<std::uint32_t> order(pc.names.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return counts[a] > counts[b]; });
  const bool capped = pc.names.size() > std::max<std::size_t>(max_values, 1);
  const std::size_t kept = capped ? std::max<std::size_t>(max_values, 2) - 1 : pc.names.size();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kept; ++i) names.push_back(pc.names[order[i]]);
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  pc.pooled = pc.names.size() - kept;
  std::map<std::string, std::uint32_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index[names[i]] = static_cast<std::uint32_t>(i);
  if (capped) names.push_back(kOtherValue);
  std::vector<std::uint32_t> remap(pc.names.size());
  for (std::size_t i = 0; i < pc.names.size(); ++i) {
    auto it = index.find(pc.names[i]);
    remap[i] = it != index.end() ? it->second : static_cast<std::uint32_t>(names.size() - 1);
  }
  for (std::uint32_t& v : pc.of_row) v = remap[v];
  pc.names = std::move(names);
}

// Reads the rows once more: the pc values of every explained row and the raw candidate and
// history of every sampled DIN row.
PcValues read_raw_values(RawRows& reader, const Model& model, const std::vector<std::size_t>& picked,
                         std::size_t file_rows, std::vector<DinCollector>& din, const Options& options) {
  const Schema& schema = model.schema();
  // A feature's columns: several when a multi or sequence feature is spread over columns of its name.
  auto columns_of = [&](int feature) {
    const FeatureInfo& f = schema.features[static_cast<std::size_t>(feature)];
    std::vector<std::size_t> columns = reader.columns(f.column);
    if (!f.has_values()) columns.resize(1);
    return columns;
  };
  // A feature's text in this row: its cells joined by its separator.
  std::string joined;
  auto text_of = [&](int feature, const std::vector<std::size_t>& columns) -> std::string_view {
    if (columns.size() == 1) return reader.value(columns[0]);
    joined.clear();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) joined.push_back(schema.features[static_cast<std::size_t>(feature)].separator);
      joined.append(reader.value(columns[c]));
    }
    return joined;
  };
  std::vector<std::vector<std::size_t>> pc_columns;
  for (int f : schema.poso_features) pc_columns.push_back(columns_of(f));
  // Per attention, per key and query feature: its columns.
  std::vector<std::vector<std::vector<std::size_t>>> key_columns(din.size()), query_columns(din.size());
  std::vector<std::size_t> next_sample(din.size(), 0);
  for (std::size_t g = 0; g < din.size(); ++g) {
    for (int k : schema.din_groups[g].keys) key_columns[g].push_back(columns_of(k));
    for (int q : schema.din_groups[g].queries) query_columns[g].push_back(columns_of(q));
  }

  PcValues pc;
  std::unordered_map<std::string, std::uint32_t> pc_index;
  std::size_t explained = 0;  // index into picked
  std::string value;
  while (reader.next()) {
    if (explained >= picked.size() || reader.row() != picked[explained]) continue;
    const std::size_t row = explained++;
    if (!pc_columns.empty()) {
      value.clear();
      for (std::size_t p = 0; p < pc_columns.size(); ++p) {
        if (!value.empty()) value += " / ";
        value += text_of(schema.poso_features[p], pc_columns[p]);
      }
      auto [it, added] = pc_index.emplace(value, static_cast<std::uint32_t>(pc.names.size()));
      if (added) pc.names.push_back(value);
      pc.of_row.push_back(it->second);
    }
    for (std::size_t g = 0; g < din.size(); ++g) {
      const auto& sampled = din[g].sampled();
      if (next_sample[g] >= sampled.size() || sampled[next_sample[g]] != row) continue;
      DinSample& s = din[g].sample(next_sample[g]++);
      s.line = reader.line();
      const DinGroup& group = schema.din_groups[g];
      for (std::size_t k = 0; k < group.queries.size(); ++k)
        s.query.emplace_back(text_of(group.queries[k], query_columns[g][k]));
      for (std::size_t k = 0; k < group.keys.size(); ++k) {
        const FeatureInfo& key = schema.features[static_cast<std::size_t>(group.keys[k])];
        const std::vector<std::string> values = split_values(key, text_of(group.keys[k], key_columns[g][k]));
        if (k == 0) s.history.resize(values.size());
        if (values.size() != s.history.size())
          throw Error(fmt::format("{}:{}: '{}' has {} values but '{}' has {}", reader.name(),
                                  reader.line(), key.name, values.size(),
                                  schema.features[static_cast<std::size_t>(group.keys[0])].name,
                                  s.history.size()));
        for (std::size_t j = 0; j < values.size(); ++j) s.history[j].values.push_back(values[j]);
      }
      if (!pc_columns.empty()) s.pc_value = value;
    }
  }
  if (reader.row() + 1 != file_rows && file_rows > 0)
    throw Error(fmt::format("{}: the file changed while it was read ({} rows, then {})",
                            reader.name(), file_rows, reader.row() + 1));
  if (!pc_columns.empty()) cap_pc_values(pc, options.max_pc_values);
  return pc;
}

}  // namespace

bool weights_in_narrow_band(const std::vector<WeightStat>& weights) {
  if (weights.size() < 2) return false;
  double lo = INFINITY, hi = -INFINITY, largest = 0;
  for (const WeightStat& w : weights) {
    lo = std::min(lo, w.mean);
    hi = std::max(hi, w.mean);
    largest = std::max(largest, std::abs(w.mean));
  }
  return std::isfinite(lo) && std::isfinite(hi) && hi - lo < 0.25 * largest;
}

namespace {

// The rows' Dataset has been read (every row kept, in order); `raw` gives their text again.
Explanation explain_rows(Model& model, const nlohmann::json& meta, const std::string& model_path, Dataset data,
                         RawRows& raw, const Options& options) {
  HEED_CHECK(options.threads >= 1, "explain: threads must be at least 1, got {}", options.threads);
  Explanation out;
  out.summary = make_summary(model, meta, model_path, raw.name());
  out.summary.file_rows = data.rows;
  const std::vector<std::size_t> picked = pick_rows(data.rows, options.rows);
  if (picked.size() < data.rows) data = data.select(picked);
  out.summary.rows = data.rows;

  std::vector<DinCollector> din;
  for (std::size_t g = 0; g < model.din().size(); ++g) din.emplace_back(model, g, data, options);
  PcValues pc = read_raw_values(raw, model, picked, out.summary.file_rows, din, options);
  SenetCollector senet(model);
  PosoCollector poso(model, pc.names, std::move(pc.of_row));
  const std::size_t pooled_pc_values = pc.pooled;

  const int threads = options.threads;
  std::vector<std::unique_ptr<Model::Workspace>> workspaces;
  for (int t = 0; t < threads; ++t) workspaces.push_back(model.make_workspace(kChunkRows));
  BatchBuilder builder(model.schema(), model.config().embedding);
  Batch batch;
  std::vector<std::size_t> rows;
  std::vector<float> scores(data.rows);
  const std::size_t round =
      static_cast<std::size_t>(threads) * static_cast<std::size_t>(kChunkRows);
  for (std::size_t start = 0; start < data.rows; start += round) {
    const std::size_t end = std::min(data.rows, start + round);
    rows.resize(end - start);
    std::iota(rows.begin(), rows.end(), start);
    builder.build(data, rows, /*training=*/false, nullptr, model.tables(), model.normalizer(),
                  batch);
    const auto B = static_cast<Index>(rows.size());
    const Index chunks = (B + kChunkRows - 1) / kChunkRows;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index c = 0; c < chunks; ++c)
      model.forward(batch, c * kChunkRows, std::min(kChunkRows, B - c * kChunkRows),
                    *workspaces[static_cast<std::size_t>(c)],
                    /*training=*/false);
    for (Index c = 0; c < chunks; ++c) {
      const Model::Workspace& ws = *workspaces[static_cast<std::size_t>(c)];
      const std::size_t first = start + static_cast<std::size_t>(c * kChunkRows);
      const Index count = ws.rows();
      for (Index i = 0; i < count; ++i)
        scores[first + static_cast<std::size_t>(i)] = sigmoid(ws.logits()(i, 0));
      senet.add(ws, count);
      for (DinCollector& d : din) d.add(ws, first, count, scores);
      poso.add(ws, first, count);
    }
  }

  if (data.has_labels() && data.rows > 0) out.summary.evaluation = evaluate_scores(scores, data);
  out.senet = senet.finish(model);
  for (DinCollector& d : din) out.din.push_back(d.finish());
  out.poso = poso.finish();
  out.poso.pooled_values = pooled_pc_values;
  out.importance =
      permutation_importance(model, data, options.shuffles, options.seed, options.threads);
  return out;
}

// As the loader reads them for explain: no label needed, and every bad row stops (data row r
// must be raw row r).
LoadOptions every_row() {
  LoadOptions load;
  load.require_label = false;
  load.never_skip = true;
  return load;
}

}  // namespace

Explanation explain(Model& model, const nlohmann::json& meta, const std::string& model_path,
                    const std::filesystem::path& data_path, const Options& options) {
  HEED_CHECK(options.threads >= 1, "explain: threads must be at least 1, got {}", options.threads);
  Dataset data = load_dataset(data_path, model.config(), model.schema(), every_row());
  RawRowReader raw(data_path, model.config());
  return explain_rows(model, meta, model_path, std::move(data), raw, options);
}

Explanation explain(Model& model, const nlohmann::json& meta, const std::string& model_path, const TextTable& table,
                    const Options& options) {
  HEED_CHECK(options.threads >= 1, "explain: threads must be at least 1, got {}", options.threads);
  // The rows' raw values come from the cells' text, which lists that came hashed lack.
  HEED_CHECK(table.hashed.empty(), "explain: {} has lists that came hashed, without their text", table.name);
  Dataset data = load_table(table, model.config(), model.schema(), every_row());
  TableRows raw(table);
  return explain_rows(model, meta, model_path, std::move(data), raw, options);
}

}  // namespace heed::explain
