#pragma once
// Warnings about a validation set early stopping should not be trusted on: too few positives
// (or negatives) for a stable AUC, too few users with both labels for gAUC, or an AUC below 0.5
// at every epoch (the model ranks validation backwards: validation unlike training, or a bug in
// how the split was made). The trainer prints them at the end and writes them to metrics.json.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "metrics/metrics.h"

namespace heed {

// Below these counts, validation AUC moves by several hundredths between equally good models.
inline constexpr std::size_t kMinValidationLabels = 200;  // positives, and negatives
inline constexpr std::size_t kMinGaucUsers = 100;         // groups holding both labels

// `epochs`: the validation metrics of every epoch trained (empty when there were none);
// `grouped`: whether eval.group is set, so gAUC is reported.
std::vector<std::string> validation_warnings(const Dataset& valid, bool grouped,
                                             std::span<const metrics::Metrics> epochs);

// The validation metrics of each epoch of metrics.json's `history` (its "valid" entries), so
// that epochs trained before a --resume count too. Only auc and gauc_groups are read back.
std::vector<metrics::Metrics> validation_epochs(const nlohmann::ordered_json& history);

}  // namespace heed
