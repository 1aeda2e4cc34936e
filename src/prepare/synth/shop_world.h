#pragma once
// The second world of `heed synth` (`--world shop`): a browsing log shaped like a real
// e-commerce behaviour log. Thousands of categories of very different sizes, each user's
// interest concentrated in a few of them, a long tail of items mostly seen once or twice,
// repeat views of recently seen items and runs of views within one category. The task
// written from it is next-item prediction with sampled negatives (prepare/recipes/next_item_task.h);
// since the process that draws each next event is known, so is the probability that a row is
// the positive, and with it the best AUC any model can reach. docs/synth.md has the formulas.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "prepare/recipes/next_item_task.h"
#include "prepare/synth/weighted_sampler.h"

namespace heed::synth {

// A repeat view re-opens one of the items of the user's last kRepeatWindow events.
inline constexpr std::size_t kRepeatWindow = 5;

struct ShopParams {
  std::size_t categories = 3000;
  double category_skew = 0.9;     // category c's popularity is (c + 1)^-skew
  double items_per_event = 1.0;   // catalogue size, per event of the log
  double item_skew = 0.6;         // the k-th item of a category is viewed with weight (k + 1)^-skew
  double mean_events = 50.0;      // events per user: lognormal with this mean
  double events_sigma = 0.8;      // and this spread of its log
  std::size_t min_events = 3;     // every user has a train, a valid and a test pair
  std::size_t min_interests = 2;  // interests per user, uniform in [min, max]
  std::size_t max_interests = 5;
  double interest_spread = 1.0;   // interest weights e^{spread z}: a few dominate
  double repeat = 0.2;            // share of events that re-view a recent item
  double stay = 0.3;              // of the rest: the previous event's category again
  double explore = 0.1;           // of the rest: any category, by popularity
};

struct ShopUser {
  std::vector<std::uint32_t> interests;  // distinct categories
  std::vector<double> interest_weights;  // normalized, same order
  WeightedSampler interest_sampler;
  std::size_t events = 0;
};

struct ShopWorld {
  ShopParams params;
  std::vector<std::uint32_t> category_of_item;
  std::vector<double> category_share;                // popularity, normalized
  WeightedSampler category_sampler;                  // by popularity
  std::vector<std::uint32_t> first_item;             // of each category; items are contiguous
  std::vector<double> item_share_in_category;        // q(i | category of i), normalized
  std::vector<WeightedSampler> item_sampler;         // per category
  std::vector<ShopUser> users;

  std::size_t items() const { return category_of_item.size(); }
  // An item of `category`, by its share.
  std::uint32_t draw_item(std::uint32_t category, Rng& rng) const;
};

// The world of `events` (approximate: users = events / mean_events) and a seed.
ShopWorld build_shop_world(std::uint64_t seed, std::size_t events, const ShopParams& params);

// Every user's events, drawn one after the other by the process next_event_probability reads.
std::vector<recipes::Timeline> simulate_shop(const ShopWorld& world, std::uint64_t seed);

// The probability that the user's event after `earlier` (their events so far, oldest first) is
// on `item`: the planted process itself.
double next_event_probability(const ShopWorld& world, std::uint32_t user,
                              std::span<const recipes::TimelineEvent> earlier, std::uint32_t item);

}  // namespace heed::synth
