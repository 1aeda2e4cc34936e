#pragma once
// The fixed world behind `heed synth`: users, items, categories, tags and the hidden tables the
// click process reads. Everything is drawn once from the seed, so a test can rebuild the world
// and recompute the planted click probability of any written row.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "prepare/synth/weighted_sampler.h"

namespace heed::synth {

// Sizes that do not depend on the number of rows.
inline constexpr std::size_t kCategories = 36;
inline constexpr std::size_t kCategoriesPerTopic = 4;  // categories of a topic are "similar"
inline constexpr std::size_t kTopics = kCategories / kCategoriesPerTopic;
inline constexpr std::size_t kTagsPerCategory = 4;
inline constexpr std::size_t kGenericTags = 16;  // tags any category may carry
inline constexpr std::size_t kTags = kCategories * kTagsPerCategory + kGenericTags;
inline constexpr std::size_t kCities = 50;
inline constexpr std::size_t kGenders = 2;
inline constexpr std::array<std::string_view, 7> kAgeBuckets = {"18-24", "25-29", "30-34", "35-44",
                                                                "45-54", "55-64", "65+"};
inline constexpr std::array<std::string_view, kGenders> kGenderNames = {"m", "f"};
inline constexpr double kNewUserShare = 1.0 / 3.0;  // of users, not of rows
inline constexpr std::size_t kDays = 14;            // length of the logged window

enum class UserGroup : std::uint8_t { kNew, kActive };
inline std::string_view group_name(UserGroup g) {
  return g == UserGroup::kNew ? "new" : "active";
}

struct Item {
  std::uint32_t category = 0;
  std::vector<std::uint32_t> tags;  // 1-4 distinct tags, ascending
  double popularity = 0.0;          // log of how often the item is shown
  double appeal = 0.0;              // item's own click bias (popularity and tags), logit scale
};

struct User {
  UserGroup group = UserGroup::kActive;
  std::uint32_t age = 0;  // index into kAgeBuckets
  std::uint32_t gender = 0;
  std::uint32_t city = 0;
  std::vector<std::uint32_t> interests;     // 2-4 categories (active users only)
  WeightedSampler interest_sampler;         // how often each interest is followed
  std::vector<std::uint32_t> prior_clicks;  // clicked before the logged window, oldest first
  double activity = 1.0;                    // relative number of impressions
};

struct World {
  std::vector<Item> items;
  std::vector<User> users;
  std::vector<double> age_affinity;     // [age * kCategories + category], logit scale
  std::vector<double> gender_affinity;  // [gender * kCategories + category]
  std::vector<double> city_bias;        // [city]
  std::vector<double> tag_appeal;       // [tag]
  WeightedSampler item_sampler;         // all items, by popularity
  std::vector<std::vector<std::uint32_t>> items_of_category;
  std::vector<WeightedSampler> category_item_sampler;  // items of one category, by popularity
  WeightedSampler hour_sampler;                        // when impressions happen

  std::size_t new_users() const;
  // A category's topic: categories are numbered so that a topic is a run of consecutive ids.
  static std::uint32_t topic_of(std::uint32_t category) {
    return category / static_cast<std::uint32_t>(kCategoriesPerTopic);
  }
  // An item drawn by popularity from one category.
  std::uint32_t draw_item_of_category(std::uint32_t category, Rng& rng) const;
};

// How many users and items a data set of `rows` impressions has.
std::size_t user_count(std::size_t rows);
std::size_t item_count(std::size_t rows);

// The world of a seed; identical for identical arguments.
World build_world(std::uint64_t seed, std::size_t rows);

// Independent random streams derived from the seed, one per purpose (and per user), so that
// changing how one part draws never shifts another part's numbers.
enum class Stream : std::uint64_t { kWorld = 1, kSchedule = 2, kClicks = 3, kNoise = 4 };
Rng stream_rng(std::uint64_t seed, Stream stream, std::uint64_t index = 0);

}  // namespace heed::synth
