#include "prepare/synth/synth_world.h"

#include <algorithm>
#include <cmath>

namespace heed::synth {
namespace {

// How many times a day's hour appears in the log: quiet nights, a lunch bump, busy evenings.
constexpr std::array<double, 24> kHourWeights = {1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5,
                                                 2.0, 2.0, 2.0, 2.2, 2.6, 2.4, 2.0, 2.0,
                                                 2.1, 2.4, 2.8, 3.2, 3.5, 3.4, 2.8, 1.8};
constexpr std::array<double, kAgeBuckets.size()> kAgeWeights = {0.18, 0.20, 0.18, 0.18,
                                                                0.12, 0.09, 0.05};
constexpr double kPriorExploreShare = 0.3;  // prior clicks outside the user's interests

std::vector<Item> make_items(std::size_t count, Rng& rng, const std::vector<double>& tag_appeal) {
  std::vector<Item> items(count);
  for (std::size_t i = 0; i < count; ++i) {
    Item& item = items[i];
    // The first kCategories items pin one item to every category; the rest fall anywhere.
    item.category = static_cast<std::uint32_t>(i < kCategories ? i : rng.below(kCategories));
    const std::size_t tag_count = 1 + rng.below(4);
    for (std::size_t t = 0; t < tag_count; ++t) {
      // Tags mostly come from the category's own tags, so they echo the category.
      const std::uint64_t tag = rng.bernoulli(0.75)
                                    ? item.category * kTagsPerCategory + rng.below(kTagsPerCategory)
                                    : rng.below(kTags);
      item.tags.push_back(static_cast<std::uint32_t>(tag));
    }
    std::sort(item.tags.begin(), item.tags.end());
    item.tags.erase(std::unique(item.tags.begin(), item.tags.end()), item.tags.end());

    item.popularity = 0.8 * rng.normal();
    double tags_mean = 0.0;
    for (std::uint32_t tag : item.tags) tags_mean += tag_appeal[tag];
    tags_mean /= static_cast<double>(item.tags.size());
    // Popular items are also a little more clickable once shown.
    item.appeal = 0.4 * item.popularity + tags_mean;
  }
  return items;
}

std::vector<double> normal_table(std::size_t count, double scale, Rng& rng) {
  std::vector<double> table(count);
  for (double& v : table) v = scale * rng.normal();
  return table;
}

User make_user(Rng& rng, const World& world, const WeightedSampler& age_sampler,
               const WeightedSampler& city_sampler) {
  User user;
  user.group = rng.bernoulli(kNewUserShare) ? UserGroup::kNew : UserGroup::kActive;
  user.age = static_cast<std::uint32_t>(age_sampler.draw(rng));
  user.gender = static_cast<std::uint32_t>(rng.below(kGenders));
  user.city = static_cast<std::uint32_t>(city_sampler.draw(rng));
  // Active users come back more often than users who just signed up.
  const double base_activity = user.group == UserGroup::kActive ? 2.0 : 1.0;
  user.activity = base_activity * std::exp(0.5 * rng.normal());
  if (user.group == UserGroup::kNew) return user;  // no interests known, no past clicks

  const std::size_t interest_count = 2 + rng.below(3);
  std::vector<double> interest_weights;
  while (user.interests.size() < interest_count) {
    const auto category = static_cast<std::uint32_t>(rng.below(kCategories));
    if (std::find(user.interests.begin(), user.interests.end(), category) != user.interests.end())
      continue;
    user.interests.push_back(category);
    interest_weights.push_back(std::exp(0.5 * rng.normal()));
  }
  user.interest_sampler = WeightedSampler(interest_weights);

  // Clicks before the logged window: mostly on the user's interests, some exploration. Some
  // histories are longer than the default max_history of 50, so truncation is exercised.
  const std::size_t prior_count = 8 + rng.below(73);
  for (std::size_t k = 0; k < prior_count; ++k) {
    std::uint32_t item;
    if (rng.bernoulli(kPriorExploreShare)) {
      item = static_cast<std::uint32_t>(world.item_sampler.draw(rng));
    } else {
      const std::uint32_t category = user.interests[user.interest_sampler.draw(rng)];
      item = world.draw_item_of_category(category, rng);
    }
    user.prior_clicks.push_back(item);
  }
  return user;
}

}  // namespace

std::size_t user_count(std::size_t rows) {
  return std::max<std::size_t>(20, rows / 25);
}
std::size_t item_count(std::size_t rows) {
  return std::clamp<std::size_t>(rows / 40, 360, 20000);
}

Rng stream_rng(std::uint64_t seed, Stream stream, std::uint64_t index) {
  const std::uint64_t stream_seed = mix64(mix64(seed) ^ (static_cast<std::uint64_t>(stream) << 56));
  return Rng(mix64(stream_seed + index));
}

std::size_t World::new_users() const {
  return static_cast<std::size_t>(std::count_if(
      users.begin(), users.end(), [](const User& u) { return u.group == UserGroup::kNew; }));
}

std::uint32_t World::draw_item_of_category(std::uint32_t category, Rng& rng) const {
  return items_of_category[category][category_item_sampler[category].draw(rng)];
}

World build_world(std::uint64_t seed, std::size_t rows) {
  Rng rng = stream_rng(seed, Stream::kWorld);
  World world;
  world.tag_appeal = normal_table(kTags, 0.4, rng);
  world.age_affinity = normal_table(kAgeBuckets.size() * kCategories, 0.9, rng);
  world.gender_affinity = normal_table(kGenders * kCategories, 0.6, rng);
  world.city_bias = normal_table(kCities, 0.2, rng);
  world.items = make_items(item_count(rows), rng, world.tag_appeal);

  std::vector<double> popularity(world.items.size());
  world.items_of_category.resize(kCategories);
  std::vector<std::vector<double>> category_popularity(kCategories);
  for (std::size_t i = 0; i < world.items.size(); ++i) {
    const Item& item = world.items[i];
    popularity[i] = std::exp(item.popularity);
    world.items_of_category[item.category].push_back(static_cast<std::uint32_t>(i));
    category_popularity[item.category].push_back(popularity[i]);
  }
  world.item_sampler = WeightedSampler(popularity);
  for (const auto& weights : category_popularity) world.category_item_sampler.emplace_back(weights);
  world.hour_sampler = WeightedSampler({kHourWeights.begin(), kHourWeights.end()});

  const WeightedSampler age_sampler({kAgeWeights.begin(), kAgeWeights.end()});
  std::vector<double> city_weights(kCities);
  for (std::size_t c = 0; c < kCities; ++c) city_weights[c] = std::pow(1.0 + c, -0.8);
  const WeightedSampler city_sampler(city_weights);
  const std::size_t users = user_count(rows);
  world.users.reserve(users);
  for (std::size_t u = 0; u < users; ++u)
    world.users.push_back(make_user(rng, world, age_sampler, city_sampler));
  return world;
}

}  // namespace heed::synth
