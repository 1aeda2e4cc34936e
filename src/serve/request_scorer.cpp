#include "serve/request_scorer.h"

#include <nlohmann/json.hpp>

#include "model/scorer.h"

namespace heed::serve {
namespace {
using Json = nlohmann::ordered_json;
}  // namespace

std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model) {
  return score_dataset(model.model(), encode_rows(request, model), 1);
}

Json explanation_json(const ServedModel& m, const Explanation& e) {
  const Model& model = m.model();
  const Schema& schema = model.schema();
  Json out = Json::object();
  for (std::size_t g = 0; g < e.din.size(); ++g) {
    const FeatureInfo& lead =
        schema.features[static_cast<std::size_t>(schema.din_groups[g].keys[0])];
    out["din"][lead.name] = e.din[g];
  }
  if (const Senet* senet = model.senet()) {
    Json names = Json::array();
    for (Index field : senet->gated_fields())
      for (const FeatureInfo& f : schema.features)
        if (f.field == field) names.push_back(f.name);
    const char* axis = senet->options().axis == SenetAxis::kField ? "field"
                       : senet->options().axis == SenetAxis::kDim ? "dim"
                                                                  : "element";
    Json weights = Json::array();
    for (Index r = 0; r < e.senet.rows(); ++r)
      weights.push_back(
          std::vector<float>(e.senet.row(r).data(), e.senet.row(r).data() + e.senet.cols()));
    out["senet"] = {{"axis", axis}, {"fields", std::move(names)}, {"weights", std::move(weights)}};
  }
  return out;
}

}  // namespace heed::serve
