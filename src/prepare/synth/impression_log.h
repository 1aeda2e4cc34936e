#pragma once
// Simulates the logged window of `heed synth`: which items each user is shown, when, and which
// they click. Users are simulated one at a time in their own time order, so the history seen
// by an impression holds only that user's earlier clicks; the rows are then merged by time.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "prepare/synth/click_model.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {

// Cardinalities of noise_a, noise_b and noise_c: drawn uniformly, read by nothing.
inline constexpr std::array<std::uint32_t, 3> kNoiseCardinality = {10, 100, 1000};
// Share of an active user's impressions picked from their interests (the rest by popularity).
inline constexpr double kInterestCandidateShare = 0.35;

struct Impression {
  double time = 0.0;  // hours since the start of the logged window
  std::uint32_t user = 0;
  std::uint32_t item = 0;
  std::uint32_t history_end = 0;  // how many of the user's clicks happened before this row
  std::array<std::uint32_t, 3> noise = {};
  std::uint8_t hour = 0;
  bool clicked = false;
  float probability = 0.0f;  // the planted click probability the label was drawn with
};

struct ImpressionLog {
  std::vector<Impression> rows;  // all impressions, ordered by time
  // Per user: clicks before the window, then clicks in the window, oldest first.
  std::vector<std::vector<std::uint32_t>> clicks;

  // The user's clicks before `row`, oldest first, at most `limit` of them (the latest).
  std::span<const std::uint32_t> history(const Impression& row, std::size_t limit) const;
};

ImpressionLog simulate(const World& world, std::uint64_t seed, std::size_t rows,
                       const ClickParams& params);

}  // namespace heed::synth
