#include "ablate/ablation_summary.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"

namespace heed::ablate {
namespace {

template <class Get>
std::vector<double> figures(const VariantResult& v, Get get) {
  std::vector<double> out;
  for (const RunResult& r : v.runs) out.push_back(get(r));
  return out;
}

// Per seed of `seeds`, the run's figure (NaN when the variant has no run for that seed).
template <class Get>
std::vector<double> by_seed(const VariantResult& v, const std::vector<std::uint64_t>& seeds,
                            Get get) {
  std::vector<double> out;
  for (std::uint64_t s : seeds) {
    double x = std::nan("");
    for (const RunResult& r : v.runs)
      if (r.seed == s) x = get(r);
    out.push_back(x);
  }
  return out;
}

double slice_value(const RunResult& r, const std::string& value) {
  for (const auto& [v, auc] : r.slice_auc)
    if (v == value) return auc;
  return std::nan("");
}

std::string module_count(std::size_t n) {
  return n == 1 ? std::string("1 module") : fmt::format("{} modules", n);
}

Recommendation recommend(const AblationResult& result,
                         const std::vector<VariantSummary>& summaries) {
  Recommendation rec;
  bool any = false;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    if (summaries[i].valid_auc.n == 0) continue;
    if (!any || summaries[i].valid_auc.mean > summaries[rec.best].valid_auc.mean) rec.best = i;
    any = true;
  }
  if (!any) {
    rec.text = "no recommendation: no variant has a validation AUC";
    return rec;
  }
  const Spread& best = summaries[rec.best].valid_auc;
  auto noise_of = [&](const Spread& s) {
    const double a = std::isfinite(best.std) ? best.std : 0.0,
                 b = std::isfinite(s.std) ? s.std : 0.0;
    return std::max(a, b);
  };
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const Spread& s = summaries[i].valid_auc;
    if (s.n > 0 && best.mean - s.mean <= noise_of(s)) rec.in_noise.push_back(i);
  }
  auto smaller = [&](std::size_t a, std::size_t b) {
    const auto ma = result.variants[a].variant.modules.size(),
               mb = result.variants[b].variant.modules.size();
    if (ma != mb) return ma < mb;
    const double pa = summaries[a].parameters.mean, pb = summaries[b].parameters.mean;
    if (pa != pb) return pa < pb;
    return a < b;
  };
  // Validation logloss: a variant is worse when it trails the lowest by more than the noise.
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const Spread& s = summaries[i].valid_logloss;
    if (s.n == 0 || !std::isfinite(s.mean)) continue;
    if (!rec.has_logloss || s.mean < summaries[rec.lowest_logloss].valid_logloss.mean)
      rec.lowest_logloss = i;
    rec.has_logloss = true;
  }
  auto logloss_worse = [&](std::size_t i) {
    if (!rec.has_logloss) return false;
    const Spread &s = summaries[i].valid_logloss, &low = summaries[rec.lowest_logloss].valid_logloss;
    if (s.n == 0 || !std::isfinite(s.mean) || !std::isfinite(s.std) || !std::isfinite(low.std))
      return false;  // one seed: no noise to measure against
    return s.mean - low.mean > std::max(s.std, low.std);
  };
  for (std::size_t i = 0; i < summaries.size(); ++i)
    if (logloss_worse(i)) rec.worse_logloss.push_back(i);
  std::vector<std::size_t> eligible;
  for (std::size_t i : rec.in_noise)
    if (!logloss_worse(i)) eligible.push_back(i);
  const bool forced = eligible.empty();  // every variant on par in AUC has a worse logloss
  if (forced) eligible = rec.in_noise;
  rec.variant = *std::min_element(eligible.begin(), eligible.end(), smaller);
  rec.available = true;
  const VariantResult& pick = result.variants[rec.variant];
  const VariantSummary& ps = summaries[rec.variant];
  const VariantSummary& bs = summaries[rec.best];
  const bool one_seed = best.n < 2;
  rec.noise = one_seed ? std::nan("") : noise_of(ps.valid_auc);
  std::string line = fmt::format(
      "Recommendation: {} ({}; {}, {} parameters)", pick.variant.name, pick.variant.description(),
      module_count(pick.variant.modules.size()), count_text(ps.parameters.mean));
  if (rec.variant == rec.best) {
    line += fmt::format(": the best validation AUC ({:.5f})", bs.valid_auc.mean);
    if (rec.in_noise.size() == 1 && !one_seed)
      line += ", and no smaller variant is within the noise of it";
    if (one_seed)
      line += " (one seed: the noise is unknown, so nothing smaller can be called as good)";
  } else {
    line += fmt::format(
        ": validation AUC {:.5f}, within the noise of the best, {} ({:.5f}; noise {:.5f})",
        ps.valid_auc.mean, result.variants[rec.best].variant.name, bs.valid_auc.mean, rec.noise);
  }
  auto logloss_text = [&](std::size_t i) {
    const Spread& s = summaries[i].valid_logloss;
    return std::isfinite(s.std) ? fmt::format("{:.4f} ± {:.4f}", s.mean, s.std)
                                : fmt::format("{:.4f}", s.mean);
  };
  if (rec.has_logloss && summaries[rec.variant].valid_logloss.n > 0) {
    const std::string lowest = result.variants[rec.lowest_logloss].variant.name;
    line += fmt::format("; validation logloss {}", logloss_text(rec.variant));
    if (forced)
      line += fmt::format(
          ", WORSE than {}'s {} by more than the noise (every variant within the noise on AUC "
          "is): weigh calibrated probabilities before choosing it",
          lowest, logloss_text(rec.lowest_logloss));
    else if (rec.variant != rec.lowest_logloss)
      line += fmt::format(" (lowest: {}, {})", lowest, logloss_text(rec.lowest_logloss));
  }
  std::vector<std::string> passed_over;
  for (std::size_t i : rec.in_noise)
    if (!forced && logloss_worse(i) && smaller(i, rec.variant))
      passed_over.push_back(fmt::format("{} (validation logloss {})",
                                        result.variants[i].variant.name, logloss_text(i)));
  if (!passed_over.empty()) {
    line += "; passed over for a logloss worse than the noise: ";
    for (std::size_t k = 0; k < passed_over.size(); ++k)
      line += (k > 0 ? ", " : "") + passed_over[k];
  }
  line += fmt::format("; test AUC {}", std::isfinite(ps.test_auc.mean)
                                           ? fmt::format("{:.5f}", ps.test_auc.mean)
                                           : "n/a");
  if (rec.variant != rec.best && std::isfinite(bs.test_auc.mean))
    line += fmt::format(" vs {:.5f}", bs.test_auc.mean);
  line += ".";
  rec.text = line;
  return rec;
}

}  // namespace

const char* const kIntervalRule =
    "difference to the reference (plain unless --reference names another variant) = mean over "
    "seeds of (variant - reference) on the same seed, with a 95% "
    "paired Student-t "
    "interval: mean +- t(0.975, n-1) * std(differences) / sqrt(n); unavailable with one seed";
const char* const kRecommendationRule =
    "the variant with the fewest modules (then the fewest parameters) whose mean VALIDATION AUC is "
    "within the "
    "noise of the best variant's: best mean - variant mean <= the larger of the two seed standard "
    "deviations "
    "(with one seed: only variants tying the best); among those, a variant whose mean VALIDATION "
    "logloss exceeds the lowest variant's by more than the larger of their seed standard "
    "deviations is passed over (and named), unless every one is: then the smallest is named with "
    "that warning; test figures are reported, never used to choose";

std::string count_text(double value) {
  if (!std::isfinite(value)) return "n/a";
  const std::string digits = fmt::format("{:.0f}", std::round(value));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const std::size_t left = digits.size() - i;
    if (i > 0 && left % 3 == 0 && digits[i - 1] != '-') out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

AblationSummary summarize(const AblationResult& result) {
  AblationSummary out;
  std::set<std::string> values;
  for (const VariantResult& v : result.variants)
    for (const RunResult& r : v.runs)
      for (const auto& [value, auc] : r.slice_auc) values.insert(value);
  out.slice_values.assign(values.begin(), values.end());

  const std::string reference = result.reference.empty() ? "plain" : result.reference;
  for (std::size_t i = 0; i < result.variants.size(); ++i)
    if (result.variants[i].variant.name == reference) {
      out.reference = i;
      out.has_reference = true;
    }

  for (std::size_t i = 0; i < result.variants.size(); ++i) {
    const VariantResult& v = result.variants[i];
    VariantSummary s;
    s.valid_auc = spread_of(figures(v, [](const RunResult& r) { return r.valid_auc; }));
    s.valid_logloss = spread_of(figures(v, [](const RunResult& r) { return r.valid_logloss; }));
    s.test_auc = spread_of(figures(v, [](const RunResult& r) { return r.test_auc; }));
    s.test_gauc = spread_of(figures(v, [](const RunResult& r) { return r.test_gauc; }));
    s.test_logloss = spread_of(figures(v, [](const RunResult& r) { return r.test_logloss; }));
    s.train_seconds = spread_of(figures(v, [](const RunResult& r) { return r.train_seconds; }));
    s.parameters =
        spread_of(figures(v, [](const RunResult& r) { return static_cast<double>(r.parameters); }));
    for (const std::string& value : out.slice_values)
      s.slice_auc.emplace_back(
          value, spread_of(figures(v, [&](const RunResult& r) { return slice_value(r, value); })));
    if (out.has_reference && i != out.reference) {
      const VariantResult& p = result.variants[out.reference];
      auto diff = [&](auto get) {
        return paired_diff(by_seed(v, result.seeds, get), by_seed(p, result.seeds, get));
      };
      s.has_diff = true;
      s.diff_valid_auc = diff([](const RunResult& r) { return r.valid_auc; });
      s.diff_valid_logloss = diff([](const RunResult& r) { return r.valid_logloss; });
      s.diff_test_auc = diff([](const RunResult& r) { return r.test_auc; });
      s.diff_test_gauc = diff([](const RunResult& r) { return r.test_gauc; });
      s.diff_test_logloss = diff([](const RunResult& r) { return r.test_logloss; });
      for (const std::string& value : out.slice_values)
        s.diff_slice_auc.emplace_back(
            value, diff([&](const RunResult& r) { return slice_value(r, value); }));
    }
    out.variants.push_back(std::move(s));
  }
  out.recommendation = recommend(result, out.variants);
  return out;
}

}  // namespace heed::ablate
