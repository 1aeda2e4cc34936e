#pragma once
// Obviously-correct slow metrics and random test data, shared by the metric tests.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <vector>

#include "core/rng.h"

namespace heed::metrics::testing {

// O(n^2) AUC straight from the definition: compare every positive with every negative.
inline double brute_force_auc(std::span<const float> scores, std::span<const float> labels) {
  double wins = 0.0;
  double pairs = 0.0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 1.0f) continue;
    for (std::size_t j = 0; j < scores.size(); ++j) {
      if (labels[j] != 0.0f) continue;
      pairs += 1.0;
      if (scores[i] > scores[j]) wins += 1.0;
      if (scores[i] == scores[j]) wins += 0.5;
    }
  }
  return pairs == 0.0 ? std::numeric_limits<double>::quiet_NaN() : wins / pairs;
}

struct BruteForceGroupAuc {
  double value = std::numeric_limits<double>::quiet_NaN();
  std::size_t used = 0;
  std::size_t skipped = 0;
};

// Group AUC by collecting each group's rows and running the pairwise AUC on them.
inline BruteForceGroupAuc brute_force_gauc(std::span<const float> scores,
                                           std::span<const float> labels,
                                           std::span<const std::uint64_t> groups) {
  std::map<std::uint64_t, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < groups.size(); ++i) members[groups[i]].push_back(i);
  BruteForceGroupAuc result;
  double weighted = 0.0;
  double weight = 0.0;
  for (const auto& [group, rows] : members) {
    std::vector<float> s;
    std::vector<float> l;
    bool has_pos = false;
    bool has_neg = false;
    for (std::size_t i : rows) {
      s.push_back(scores[i]);
      l.push_back(labels[i]);
      (labels[i] == 1.0f ? has_pos : has_neg) = true;
    }
    if (!(has_pos && has_neg)) {
      ++result.skipped;
      continue;
    }
    weighted += static_cast<double>(rows.size()) * brute_force_auc(s, l);
    weight += static_cast<double>(rows.size());
    ++result.used;
  }
  if (result.used > 0) result.value = weighted / weight;
  return result;
}

// Rows whose scores take only `levels` distinct values, so ties are everywhere.
struct RandomRows {
  std::vector<float> scores;
  std::vector<float> labels;
  std::vector<std::uint64_t> groups;
};

inline RandomRows random_rows(std::size_t n, std::uint64_t seed, int levels, double positive_rate,
                              std::uint64_t group_count) {
  Rng rng(seed);
  RandomRows rows;
  for (std::size_t i = 0; i < n; ++i) {
    const bool positive = rng.bernoulli(positive_rate);
    // Positives lean higher so AUC is informative, not just 0.5.
    const double raw = rng.uniform() * 0.7 + (positive ? 0.3 : 0.0);
    const auto level = static_cast<int>(raw * levels);
    rows.scores.push_back(static_cast<float>(level) / static_cast<float>(levels));
    rows.labels.push_back(positive ? 1.0f : 0.0f);
    rows.groups.push_back(group_count == 0 ? 0 : mix64(rng.below(group_count)));
  }
  return rows;
}

// The same rows in a random order (Fisher-Yates with heed's Rng).
inline RandomRows shuffled(const RandomRows& rows, std::uint64_t seed) {
  std::vector<std::size_t> order(rows.scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  RandomRows out;
  for (std::size_t i : order) {
    out.scores.push_back(rows.scores[i]);
    out.labels.push_back(rows.labels[i]);
    out.groups.push_back(rows.groups[i]);
  }
  return out;
}

}  // namespace heed::metrics::testing
