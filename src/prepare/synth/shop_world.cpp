#include "prepare/synth/shop_world.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {
namespace {

std::vector<double> normalized(std::vector<double> weights) {
  double total = 0.0;
  for (double w : weights) total += w;
  for (double& w : weights) w /= total;
  return weights;
}

ShopUser make_user(const ShopWorld& world, Rng& rng) {
  const ShopParams& p = world.params;
  ShopUser user;
  const std::size_t count = p.min_interests + rng.below(p.max_interests - p.min_interests + 1);
  std::vector<double> weights;
  // Interests follow the categories' popularity: big categories are many users' interest.
  while (user.interests.size() < count) {
    const auto category = static_cast<std::uint32_t>(world.category_sampler.draw(rng));
    if (std::find(user.interests.begin(), user.interests.end(), category) != user.interests.end())
      continue;
    user.interests.push_back(category);
    weights.push_back(std::exp(p.interest_spread * rng.normal()));
  }
  user.interest_weights = normalized(weights);
  user.interest_sampler = WeightedSampler(user.interest_weights);
  const double mu = std::log(p.mean_events) - 0.5 * p.events_sigma * p.events_sigma;
  const double events = std::round(std::exp(mu + p.events_sigma * rng.normal()));
  user.events = std::max(p.min_events, static_cast<std::size_t>(events));
  return user;
}

}  // namespace

std::uint32_t ShopWorld::draw_item(std::uint32_t category, Rng& rng) const {
  return first_item[category] + static_cast<std::uint32_t>(item_sampler[category].draw(rng));
}

ShopWorld build_shop_world(std::uint64_t seed, std::size_t events, const ShopParams& params) {
  HEED_CHECK(params.categories > 0 && params.min_interests >= 1 &&
                 params.min_interests <= params.max_interests &&
                 params.max_interests <= params.categories,
             "shop world: inconsistent category or interest counts");
  Rng rng = stream_rng(seed, Stream::kWorld);
  ShopWorld world;
  world.params = params;
  std::vector<double> popularity(params.categories);
  for (std::size_t c = 0; c < params.categories; ++c)
    popularity[c] = std::pow(1.0 + static_cast<double>(c), -params.category_skew);
  world.category_share = normalized(popularity);
  world.category_sampler = WeightedSampler(world.category_share);

  // A category's catalogue grows with how much it is viewed; every category has an item.
  const double catalogue = params.items_per_event * static_cast<double>(events);
  for (std::size_t c = 0; c < params.categories; ++c) {
    world.first_item.push_back(static_cast<std::uint32_t>(world.category_of_item.size()));
    const auto size = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::round(catalogue * world.category_share[c])));
    std::vector<double> weights(size);
    for (std::size_t k = 0; k < size; ++k)
      weights[k] = std::pow(1.0 + static_cast<double>(k), -params.item_skew);
    weights = normalized(weights);
    world.item_share_in_category.insert(world.item_share_in_category.end(), weights.begin(),
                                        weights.end());
    world.item_sampler.emplace_back(weights);
    world.category_of_item.insert(world.category_of_item.end(), size, static_cast<std::uint32_t>(c));
  }

  const std::size_t users = std::max<std::size_t>(
      10, static_cast<std::size_t>(static_cast<double>(events) / params.mean_events));
  world.users.reserve(users);
  for (std::size_t u = 0; u < users; ++u) world.users.push_back(make_user(world, rng));
  return world;
}

std::vector<recipes::Timeline> simulate_shop(const ShopWorld& world, std::uint64_t seed) {
  const ShopParams& p = world.params;
  std::vector<recipes::Timeline> timelines(world.users.size());
  for (std::uint32_t u = 0; u < world.users.size(); ++u) {
    const ShopUser& user = world.users[u];
    Rng rng = stream_rng(seed, Stream::kSchedule, u);
    recipes::Timeline& timeline = timelines[u];
    timeline.user_key = u;
    auto& events = timeline.events;
    events.reserve(user.events);
    while (events.size() < user.events) {
      const std::size_t k = events.size();
      if (k > 0 && rng.bernoulli(p.repeat)) {
        const std::size_t window = std::min(kRepeatWindow, k);
        events.push_back(events[k - 1 - rng.below(window)]);
        continue;
      }
      std::uint32_t category;
      if (k > 0 && rng.bernoulli(p.stay)) {
        category = events[k - 1].category;
      } else if (rng.bernoulli(p.explore)) {
        category = static_cast<std::uint32_t>(world.category_sampler.draw(rng));
      } else {
        category = user.interests[user.interest_sampler.draw(rng)];
      }
      events.push_back({world.draw_item(category, rng), category});
    }
  }
  return timelines;
}

double next_event_probability(const ShopWorld& world, std::uint32_t user_index,
                              std::span<const recipes::TimelineEvent> earlier, std::uint32_t item) {
  const ShopParams& p = world.params;
  const ShopUser& user = world.users[user_index];
  const std::uint32_t category = world.category_of_item[item];
  double interest = 0.0;
  for (std::size_t j = 0; j < user.interests.size(); ++j) {
    if (user.interests[j] == category) interest = user.interest_weights[j];
  }
  const double wander = p.explore * world.category_share[category] + (1.0 - p.explore) * interest;
  const double q = world.item_share_in_category[item];
  if (earlier.empty()) return wander * q;

  const std::size_t k = earlier.size();
  const std::size_t window = std::min(kRepeatWindow, k);
  double seen = 0.0;
  for (std::size_t j = k - window; j < k; ++j) seen += earlier[j].item == item ? 1.0 : 0.0;
  const double same = earlier[k - 1].category == category ? 1.0 : 0.0;
  const double fresh = (p.stay * same + (1.0 - p.stay) * wander) * q;
  return p.repeat * seen / static_cast<double>(window) + (1.0 - p.repeat) * fresh;
}

}  // namespace heed::synth
