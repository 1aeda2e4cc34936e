#include "train/validation_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace heed {

std::vector<std::string> validation_warnings(const Dataset& valid, bool grouped,
                                             std::span<const metrics::Metrics> epochs) {
  std::vector<std::string> warnings;
  if (valid.rows == 0 || !valid.has_labels()) return warnings;
  const auto positives = static_cast<std::size_t>(
      std::count_if(valid.labels.begin(), valid.labels.end(), [](float y) { return y > 0.5f; }));
  const std::size_t negatives = valid.rows - positives;
  if (positives < kMinValidationLabels || negatives < kMinValidationLabels) {
    warnings.push_back(fmt::format(
        "validation holds {} positive and {} negative rows (fewer than {}): its AUC is too noisy to "
        "choose epochs or compare models by; hold out more rows",
        positives, negatives, kMinValidationLabels));
  }
  if (grouped && !epochs.empty() && epochs.back().gauc_groups < kMinGaucUsers) {
    warnings.push_back(fmt::format(
        "only {} validation users have both labels (fewer than {}): validation gAUC rests on too "
        "few users; hold out whole recent periods of many users rather than a few users",
        epochs.back().gauc_groups, kMinGaucUsers));
  }
  const bool always_below_half =
      !epochs.empty() && std::all_of(epochs.begin(), epochs.end(), [](const metrics::Metrics& m) {
        return std::isfinite(m.auc) && m.auc < 0.5;
      });
  if (always_below_half) {
    warnings.push_back(fmt::format(
        "validation AUC stayed below 0.5 in all {} epoch(s): the model ranks validation rows "
        "backwards, so early stopping followed noise; validation is probably unlike the training "
        "and test rows (check how it is split)",
        epochs.size()));
  }
  return warnings;
}

std::vector<metrics::Metrics> validation_epochs(const nlohmann::ordered_json& history) {
  std::vector<metrics::Metrics> epochs;
  for (const auto& entry : history) {
    if (!entry.contains("valid")) continue;
    const auto& valid = entry["valid"];
    metrics::Metrics m{};
    m.auc = valid["auc"].is_number() ? valid["auc"].get<double>() : std::nan("");  // null: undefined
    m.gauc_groups = valid.value("gauc_users", std::size_t{0});
    epochs.push_back(m);
  }
  return epochs;
}

}  // namespace heed
