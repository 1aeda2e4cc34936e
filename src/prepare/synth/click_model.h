#pragma once
// The planted click process of `heed synth`: the probability that a user clicks a candidate
// item, given the hour and the user's earlier clicks. docs/synth.md writes it as formulas.
//
// Two user groups read different signals on purpose, so a gate conditioned on the group
// (POSO) has something to learn:
//   active: mostly how many recent clicks match the candidate's category (DIN's job: a count
//           over the few matching items, which mean pooling dilutes);
//   new:    age x category and gender x category affinities, and the hour of day;
//   both:   the item's appeal, a small city shift, and a bonus when the candidate itself was
//           clicked recently.
// The noise columns are drawn separately and never reach this code.
#include <cstdint>
#include <span>

#include "prepare/synth/synth_world.h"

namespace heed::synth {

// Only the most recent clicks count; longer memories are not part of the process.
inline constexpr std::size_t kRelevanceWindow = 50;

struct ClickParams {
  double active_base = -3.8;  // logit intercepts per group, tuned for a ~29% click rate
  double new_base = -1.85;
  double active_history_weight = 3.6;  // weight of history relevance
  double new_history_weight = 0.8;
  double active_demographic_weight = 0.2;  // weight of age/gender x category affinity
  double new_demographic_weight = 1.2;
  double new_hour_weight = 0.6;    // amplitude of the evening peak, new users only
  double topic_similarity = 0.25;  // a click in the same topic counts as this much of a match
  double saturation = 1.5;         // matches needed to reach 1 - 1/e of full relevance
  double repeat_weight = 0.8;      // the candidate itself is among the recent clicks
};

// How well the history covers a candidate's category, in [0, 1): 1 - exp(-m / saturation)
// where m counts the last kRelevanceWindow clicks with the same category (1 each) or the
// same topic (topic_similarity each). A count, not a share: one match in a long history
// matters as much as one match in a short one.
double history_relevance(const World& world, std::uint32_t candidate_category,
                         std::span<const std::uint32_t> history, const ClickParams& params);

// Whether the candidate item itself is among the last kRelevanceWindow clicks. Mean pooling
// over thousands of item embeddings all but erases one item; attention on the candidate finds it.
bool recently_clicked(std::uint32_t item, std::span<const std::uint32_t> history);

// The evening effect in [-1, 1]: peaks at 21:00, lowest at 09:00.
double evening_effect(int hour);

// Logit of the click probability. `history` is the user's clicks before this impression,
// oldest first (it may be longer than the window; only the tail is read).
double click_logit(const World& world, std::uint32_t user, std::uint32_t item, int hour,
                   std::span<const std::uint32_t> history, const ClickParams& params);

double click_probability(const World& world, std::uint32_t user, std::uint32_t item, int hour,
                         std::span<const std::uint32_t> history, const ClickParams& params);

}  // namespace heed::synth
