#pragma once
// The figures an ablation report shows, computed from the runs: each variant's spread over
// seeds, its difference to the reference variant (plain unless chosen) paired by seed, and the
// recommendation.
//
// Recommendation rule (on VALIDATION AUC; the test split chooses nothing):
//   best      = the variant with the highest mean validation AUC over seeds
//   in noise  = best mean - variant mean <= max(seed std of best, seed std of variant)
//               (with one seed there is no std: only variants tying the best qualify)
//   logloss   = a variant's validation logloss is worse when its mean exceeds the lowest mean
//               (over every variant) by more than max(seed std of the two) (one seed: never)
//   pick      = among variants in noise whose logloss is not worse, the fewest modules, then the
//               fewest parameters; when every one in noise has a worse logloss, the smallest
//               of them, and the line says so. A smaller variant passed over for its logloss is
//               named too.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ablate/ablation.h"
#include "ablate/seed_stats.h"

namespace heed::ablate {

struct VariantSummary {
  Spread valid_auc, valid_logloss, test_auc, test_gauc, test_logloss, train_seconds, parameters;
  std::vector<std::pair<std::string, Spread>> slice_auc;  // test AUC per slice value
  bool has_diff = false;  // false for the reference itself (or when there is none)
  PairedDiff diff_valid_auc, diff_valid_logloss, diff_test_auc, diff_test_gauc, diff_test_logloss;  // variant - ref
  std::vector<std::pair<std::string, PairedDiff>> diff_slice_auc;  // per slice value, variant - ref
};

struct Recommendation {
  bool available = false;
  std::size_t variant = 0;            // index into the result's variants
  std::size_t best = 0;               // highest mean validation AUC
  double noise = 0;                   // max(std of best, std of variant); NaN with one seed
  std::vector<std::size_t> in_noise;  // every variant within the noise of the best
  bool has_logloss = false;           // some variant recorded a validation logloss
  std::size_t lowest_logloss = 0;     // the variant with the lowest mean validation logloss
  std::vector<std::size_t> worse_logloss;  // variants whose validation logloss is worse
  std::string text;                   // one line
};

struct AblationSummary {
  std::vector<VariantSummary> variants;   // parallel to AblationResult::variants
  std::vector<std::string> slice_values;  // union over runs, sorted
  std::size_t reference = 0;  // index of the variant differences are measured against
  bool has_reference = false;
  Recommendation recommendation;
};

// The rules, in words, as reports and --help print them.
extern const char* const kIntervalRule;
extern const char* const kRecommendationRule;

AblationSummary summarize(const AblationResult& result);

// 1234567 -> "1,234,567" (rounded); "n/a" when not finite.
std::string count_text(double value);

}  // namespace heed::ablate
