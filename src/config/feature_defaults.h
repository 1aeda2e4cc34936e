#pragma once
// Defaults that depend on other keys (a feature's column defaults to its name, its pooling to
// its kind's), and the checks that span several keys. Run once after loading.
#include <string>

#include "config/config.h"

namespace heed {

void resolve_feature_defaults(Config& config, const std::string& source_name);

// The pooling of a multi or sequence feature that names none (embedding.multi_pooling or
// embedding.sequence_pooling). DIN-pooled features fall back to it when din.enabled is false.
Pooling plain_pooling(const Config& config, FeatureKind kind);

}  // namespace heed
