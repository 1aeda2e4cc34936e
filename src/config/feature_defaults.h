#pragma once
// Defaults that depend on other keys (a feature's column defaults to its name, its pooling to
// its kind's), and the checks that span several keys. Run once after loading.
#include <string>

#include "config/config.h"

namespace heed {

void resolve_feature_defaults(Config& config, const std::string& source_name);

}  // namespace heed
