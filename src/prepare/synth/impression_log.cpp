#include "prepare/synth/impression_log.h"

#include <algorithm>
#include <cmath>

namespace heed::synth {
namespace {

// How many impressions each user gets: `rows` draws by activity, so the counts add up exactly.
std::vector<std::size_t> impressions_per_user(const World& world, std::uint64_t seed,
                                              std::size_t rows) {
  std::vector<double> activity;
  activity.reserve(world.users.size());
  for (const User& user : world.users) activity.push_back(user.activity);
  const WeightedSampler sampler(activity);
  Rng rng = stream_rng(seed, Stream::kSchedule);
  std::vector<std::size_t> counts(world.users.size(), 0);
  for (std::size_t r = 0; r < rows; ++r) ++counts[sampler.draw(rng)];
  return counts;
}

// When the user's impressions happen, ascending. Active users visit on any day; a new user
// signs up on some day and is seen on that day and the next.
std::vector<std::pair<double, std::uint8_t>> visit_times(const World& world, const User& user,
                                                         std::size_t count, Rng& rng) {
  const std::size_t first_day = user.group == UserGroup::kNew ? rng.below(kDays - 1) : 0;
  const std::size_t day_span = user.group == UserGroup::kNew ? 2 : kDays;
  std::vector<std::pair<double, std::uint8_t>> times(count);
  for (auto& [time, hour] : times) {
    const std::size_t day = first_day + rng.below(day_span);
    hour = static_cast<std::uint8_t>(world.hour_sampler.draw(rng));
    time = static_cast<double>(day * 24 + hour) + rng.uniform();
  }
  std::sort(times.begin(), times.end());
  return times;
}

std::uint32_t draw_candidate(const World& world, const User& user, Rng& rng) {
  if (user.group == UserGroup::kActive && rng.bernoulli(kInterestCandidateShare)) {
    const std::uint32_t category = user.interests[user.interest_sampler.draw(rng)];
    return world.draw_item_of_category(category, rng);
  }
  // Nothing is known about a new user yet, so they are shown what is popular.
  return static_cast<std::uint32_t>(world.item_sampler.draw(rng));
}

}  // namespace

std::span<const std::uint32_t> ImpressionLog::history(const Impression& row,
                                                      std::size_t limit) const {
  const std::span<const std::uint32_t> before(clicks[row.user].data(), row.history_end);
  return before.size() > limit ? before.last(limit) : before;
}

ImpressionLog simulate(const World& world, std::uint64_t seed, std::size_t rows,
                       const ClickParams& params) {
  const std::vector<std::size_t> counts = impressions_per_user(world, seed, rows);
  ImpressionLog log;
  log.rows.reserve(rows);
  log.clicks.resize(world.users.size());
  for (std::uint32_t u = 0; u < world.users.size(); ++u) {
    const User& user = world.users[u];
    // One stream per user and purpose: a user's rows do not depend on other users' draws.
    Rng schedule_rng = stream_rng(seed, Stream::kSchedule, u + 1);
    Rng click_rng = stream_rng(seed, Stream::kClicks, u);
    Rng noise_rng = stream_rng(seed, Stream::kNoise, u);
    std::vector<std::uint32_t>& clicks = log.clicks[u];
    clicks = user.prior_clicks;
    for (const auto& [time, hour] : visit_times(world, user, counts[u], schedule_rng)) {
      Impression row;
      row.time = time;
      row.user = u;
      row.hour = hour;
      row.item = draw_candidate(world, user, click_rng);
      row.history_end = static_cast<std::uint32_t>(clicks.size());
      const double p = click_probability(world, u, row.item, hour, clicks, params);
      row.clicked = click_rng.bernoulli(p);
      row.probability = static_cast<float>(p);
      for (std::size_t k = 0; k < row.noise.size(); ++k)
        row.noise[k] = static_cast<std::uint32_t>(noise_rng.below(kNoiseCardinality[k]));
      if (row.clicked) clicks.push_back(row.item);
      log.rows.push_back(row);
    }
  }
  // Merge users by time; stable, so equal times keep user order and each user's own order.
  std::stable_sort(log.rows.begin(), log.rows.end(),
                   [](const Impression& a, const Impression& b) { return a.time < b.time; });
  return log;
}

}  // namespace heed::synth
