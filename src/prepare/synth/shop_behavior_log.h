#pragma once
// The shop world written as a raw behaviour log in Taobao UserBehavior's format (CSV
// user_id,item_id,category_id,behavior_type,timestamp), for `heed prepare taobao` to read:
// `heed synth --world shop --format userbehavior`. Every event of the world is a page view
// (pv) at a time inside Tianchi's nine days; after a view the user may favourite, cart or buy
// the item a few minutes later, with a planted probability that reads the user's own
// propensity, the item's appeal, whether the category is one of the user's interests and
// whether the item was viewed among the user's last 5 events. docs/synth.md has the formula.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "prepare/recipes/next_item_task.h"
#include "prepare/synth/shop_world.h"

namespace heed::synth {

struct EngagementParams {
  double base = -3.0;              // logit intercept
  double user_spread = 0.8;        // a user's propensity ~ N(0, spread^2)
  double item_spread = 0.8;        // an item's appeal ~ N(0, spread^2)
  double interest_weight = 1.5;    // the category is one of the user's interests
  double seen_weight = 1.0;        // the item is among the user's last 5 events
};

// The planted chance that the user engages after viewing `earlier`'s next event `event`.
double engagement_probability(const ShopWorld& world, std::span<const double> user_propensity,
                              std::span<const double> item_appeal, std::uint32_t user,
                              std::span<const recipes::TimelineEvent> earlier,
                              recipes::TimelineEvent event, const EngagementParams& params);

struct BehaviorLogSummary {
  std::size_t views = 0, engagements = 0;
};

// Writes out/UserBehavior.csv from the world of `seed` and `events`; the same arguments give
// the same bytes. Lines are sorted by user, then time. out/UserBehavior.planted.csv gives each
// view's planted engagement probability (user_id,item_id,timestamp,probability), so the best
// AUC of a task built from the log can be computed.
BehaviorLogSummary write_behavior_log(const std::filesystem::path& out, std::uint64_t seed,
                                      std::size_t events);

}  // namespace heed::synth
