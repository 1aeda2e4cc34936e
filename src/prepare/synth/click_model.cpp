#include "prepare/synth/click_model.h"

#include <algorithm>
#include <cmath>

namespace heed::synth {

double history_relevance(const World& world, std::uint32_t candidate_category,
                         std::span<const std::uint32_t> history, const ClickParams& params) {
  if (history.size() > kRelevanceWindow) history = history.last(kRelevanceWindow);
  const std::uint32_t candidate_topic = World::topic_of(candidate_category);
  double matches = 0.0;
  for (std::uint32_t item : history) {
    const std::uint32_t category = world.items[item].category;
    if (category == candidate_category) {
      matches += 1.0;
    } else if (World::topic_of(category) == candidate_topic) {
      matches += params.topic_similarity;
    }
  }
  return 1.0 - std::exp(-matches / params.saturation);
}

bool recently_clicked(std::uint32_t item, std::span<const std::uint32_t> history) {
  if (history.size() > kRelevanceWindow) history = history.last(kRelevanceWindow);
  return std::find(history.begin(), history.end(), item) != history.end();
}

double evening_effect(int hour) {
  constexpr double kTwoPi = 6.283185307179586;
  return std::cos(kTwoPi * (hour - 21) / 24.0);
}

double click_logit(const World& world, std::uint32_t user_index, std::uint32_t item_index, int hour,
                   std::span<const std::uint32_t> history, const ClickParams& params) {
  const User& user = world.users[user_index];
  const Item& item = world.items[item_index];
  const std::uint32_t c = item.category;
  const double demographic = world.age_affinity[user.age * kCategories + c] +
                             world.gender_affinity[user.gender * kCategories + c];
  const double relevance = history_relevance(world, c, history, params);
  const double repeat = recently_clicked(item_index, history) ? params.repeat_weight : 0.0;
  const double shared = item.appeal + world.city_bias[user.city] + repeat;
  if (user.group == UserGroup::kActive) {
    return params.active_base + shared + params.active_history_weight * relevance +
           params.active_demographic_weight * demographic;
  }
  return params.new_base + shared + params.new_history_weight * relevance +
         params.new_demographic_weight * demographic +
         params.new_hour_weight * evening_effect(hour);
}

double click_probability(const World& world, std::uint32_t user, std::uint32_t item, int hour,
                         std::span<const std::uint32_t> history, const ClickParams& params) {
  return 1.0 / (1.0 + std::exp(-click_logit(world, user, item, hour, history, params)));
}

}  // namespace heed::synth
