#include "explain/explanation_json.h"

#include <cmath>

namespace heed::explain {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json();
}

Json stat_json(const RunningStat& s) {
  return {{"count", s.count()},
          {"mean", number(s.mean())},
          {"std", number(s.stddev())},
          {"min", number(s.min())},
          {"max", number(s.max())}};
}

Json weight_json(const WeightStat& w) {
  Json j = {{"name", w.name},
            {"mean", number(w.mean)},
            {"std", number(w.std)},
            {"min", number(w.min)},
            {"max", number(w.max)}};
  if (!w.dim_means.empty()) j["dim_means"] = w.dim_means;
  return j;
}

Json summary_json(const Summary& s) {
  Json j = {{"model", s.model_path},
            {"data", s.data_path},
            {"file_rows", s.file_rows},
            {"rows", s.rows},
            {"embedding_dim", s.dim},
            {"hidden", s.hidden},
            {"modules", {{"senet", s.senet}, {"din", s.din}, {"poso", s.poso}}}};
  Json features = Json::array();
  for (const FeatureSummary& f : s.features) {
    Json fj = {{"name", f.name}, {"kind", f.kind}, {"column", f.column}};
    fj["table"] = f.table.empty() ? Json() : Json(f.table);
    fj["pooling"] = f.pooling.empty() ? Json() : Json(f.pooling);
    fj["field"] = f.field >= 0 ? Json(f.field) : Json();
    features.push_back(std::move(fj));
  }
  j["features"] = std::move(features);
  j["metrics"] = s.evaluation ? evaluation_json(*s.evaluation, s.slice_column) : Json();
  j["model_meta"] = s.meta;
  return j;
}

Json senet_json(const SenetReport& r) {
  if (!r.enabled) return {{"enabled", false}};
  Json j = {{"enabled", true},
            {"axis", r.axis},
            {"squeeze", r.squeeze},
            {"gate", r.gate},
            {"reduction", r.reduction}};
  Json fields = Json::array(), dims = Json::array();
  for (const WeightStat& w : r.fields) fields.push_back(weight_json(w));
  for (const WeightStat& w : r.dims) dims.push_back(weight_json(w));
  j["fields"] = std::move(fields);
  if (!r.dims.empty()) j["dims"] = std::move(dims);
  j["narrow_band"] = weights_in_narrow_band(r.dims.empty() ? r.fields : r.dims);
  return j;
}

Json din_json(const std::vector<DinReport>& reports) {
  Json attentions = Json::array();
  for (const DinReport& r : reports) {
    Json j = {{"feature", r.name},
              {"key_features", r.key_features},
              {"query_features", r.query_features},
              {"normalize", r.normalize},
              {"max_len", r.max_len},
              {"weight", stat_json(r.weight)},
              {"row_sum", stat_json(r.row_sum)},
              {"length", stat_json(r.length)},
              {"empty_rows", r.empty_rows}};
    Json recency = Json::array();
    for (std::size_t p = 0; p < r.by_recency.size(); ++p) {
      Json pj = stat_json(r.by_recency[p]);
      pj["position"] = p;
      recency.push_back(std::move(pj));
    }
    j["by_recency"] = std::move(recency);
    Json matches = Json::array();
    for (const DinMatch& m : r.matches)
      matches.push_back({{"key_feature", m.key_feature},
                         {"query_feature", m.query_feature},
                         {"match", stat_json(m.match)},
                         {"other", stat_json(m.other)}});
    j["matches"] = std::move(matches);
    Json samples = Json::array();
    for (const DinSample& s : r.samples) {
      Json sj = {{"row", s.row}, {"line", s.line}};
      Json query = Json::object();
      for (std::size_t k = 0; k < s.query.size() && k < r.query_features.size(); ++k)
        query[r.query_features[k]] = s.query[k];
      sj["query"] = std::move(query);
      sj["label"] = s.label ? Json(*s.label) : Json();
      sj["score"] = number(s.score);
      if (!s.pc_value.empty()) sj["pc_value"] = s.pc_value;
      Json history = Json::array();
      for (const DinItem& item : s.history) {
        Json values = Json::object();
        for (std::size_t k = 0; k < item.values.size() && k < r.key_features.size(); ++k)
          values[r.key_features[k]] = item.values[k];
        history.push_back({{"values", std::move(values)}, {"weight", number(item.weight)}});
      }
      sj["history"] = std::move(history);
      samples.push_back(std::move(sj));
    }
    j["samples"] = std::move(samples);
    attentions.push_back(std::move(j));
  }
  return {{"enabled", !reports.empty()}, {"attentions", std::move(attentions)}};
}

Json poso_json(const PosoReport& r) {
  if (!r.enabled) return {{"enabled", false}};
  Json j = {{"enabled", true},
            {"features", r.features},
            {"scale", r.scale},
            {"all_fields", r.all_fields}};
  Json layers = Json::array();
  for (const PosoLayer& layer : r.layers) {
    Json lj = {{"layer", layer.layer}, {"width", layer.width}, {"gated", layer.gated}};
    if (layer.gated) {
      Json values = Json::array();
      for (const PosoValue& v : layer.values) {
        const Histogram& h = v.histogram;
        values.push_back({{"value", v.value},
                          {"rows", v.rows},
                          {"mean", number(v.gate.mean())},
                          {"std", number(v.gate.stddev())},
                          {"min", number(v.gate.min())},
                          {"max", number(v.gate.max())},
                          {"quantiles",
                           {{"p05", h.quantile(0.05)},
                            {"p25", h.quantile(0.25)},
                            {"p50", h.quantile(0.5)},
                            {"p75", h.quantile(0.75)},
                            {"p95", h.quantile(0.95)}}},
                          {"histogram", {{"lo", h.lo()}, {"hi", h.hi()}, {"counts", h.counts()}}},
                          {"neuron_means", v.neuron_means}});
      }
      lj["values"] = std::move(values);
      Json differences = Json::array();
      for (const PosoDifference& d : layer.differences)
        differences.push_back({{"a", d.a},
                               {"b", d.b},
                               {"mean_abs_diff", number(d.mean_abs)},
                               {"max_abs_diff", number(d.max_abs)},
                               {"max_neuron", d.max_neuron}});
      lj["differences"] = std::move(differences);
    }
    layers.push_back(std::move(lj));
  }
  j["layers"] = std::move(layers);
  j["pooled_values"] = r.pooled_values;
  return j;
}

Json importance_json(const PermutationReport& r, const SenetReport& senet) {
  if (!r.available) return {{"available", false}, {"reason", r.reason}};
  Json j = {{"available", true},
            {"shuffles", r.shuffles},
            {"seed", r.seed},
            {"auc", number(r.auc)},
            {"logloss", number(r.logloss)}};
  Json fields = Json::array();
  for (const FieldImportance& f : r.fields) {
    Json per_auc = Json::array(), per_logloss = Json::array();
    for (double v : f.auc_drop) per_auc.push_back(number(v));
    for (double v : f.logloss_rise) per_logloss.push_back(number(v));
    Json fj = {{"name", f.name},
               {"features", f.features},
               {"auc_drop", {{"mean", number(f.auc_drop_mean)},
                             {"std", number(f.auc_drop_std)},
                             {"per_shuffle", std::move(per_auc)}}},
               {"logloss_rise", {{"mean", number(f.logloss_rise_mean)},
                                 {"std", number(f.logloss_rise_std)},
                                 {"per_shuffle", std::move(per_logloss)}}}};
    fj["senet_weight"] = Json();
    for (const WeightStat& w : senet.fields)
      if (f.features.size() == 1 && w.name == f.features[0]) fj["senet_weight"] = number(w.mean);
    fields.push_back(std::move(fj));
  }
  j["fields"] = std::move(fields);
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const Explanation& e) {
  return {{"summary", summary_json(e.summary)},
          {"senet", senet_json(e.senet)},
          {"din", din_json(e.din)},
          {"poso", poso_json(e.poso)},
          {"importance", importance_json(e.importance, e.senet)}};
}

}  // namespace heed::explain
