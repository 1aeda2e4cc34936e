#pragma once
// Probability quality: log loss (what training minimizes) and calibration (whether predicted
// click rates match observed ones, which matters when CTRs feed an auction or a budget).
#include <span>

namespace heed::metrics {

// Mean binary cross-entropy of probabilities against 0/1 labels. Probabilities are clamped to
// [1e-7, 1 - 1e-7] first, so one confident mistake costs about 16.1 instead of infinity.
// Probabilities outside [0, 1] (logits passed by mistake) throw Error. NaN when empty.
double logloss(std::span<const float> probabilities, std::span<const float> labels);

// Mean prediction / mean label: 1.0 means calibrated, above 1 over-predicts clicks.
// NaN when there are no positives.
double calibration(std::span<const float> probabilities, std::span<const float> labels);

}  // namespace heed::metrics
