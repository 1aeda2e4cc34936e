#pragma once
// An Explanation as JSON, the numbers of `heed explain`'s page for tools:
//   {"summary": {...}, "senet": {"enabled", "axis", "fields": [{"name", "mean", "std", ...}]},
//    "din": {"enabled", "attentions": [...]}, "poso": {"enabled", "values", "layers": [...]}}
// Non-finite numbers become null.
#include <nlohmann/json.hpp>

#include "explain/explanation.h"

namespace heed::explain {

nlohmann::ordered_json to_json(const Explanation& e);

}  // namespace heed::explain
