#include "prepare/synth/shop_behavior_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {
namespace {

// Tianchi's period, 2017-11-25 00:00 to 2017-12-04 00:00 China time: the taobao recipe's default.
constexpr std::int64_t kPeriodStart = 1511539200;
constexpr std::int64_t kPeriodEnd = 1512316800;
constexpr std::array<const char*, 3> kEngagements = {"fav", "cart", "buy"};

}  // namespace

double engagement_probability(const ShopWorld& world, std::span<const double> user_propensity,
                              std::span<const double> item_appeal, std::uint32_t user,
                              std::span<const recipes::TimelineEvent> earlier,
                              recipes::TimelineEvent event, const EngagementParams& params) {
  const ShopUser& u = world.users[user];
  const bool interest =
      std::find(u.interests.begin(), u.interests.end(), event.category) != u.interests.end();
  bool seen = false;
  for (std::size_t j = earlier.size() - std::min(kRepeatWindow, earlier.size()); j < earlier.size(); ++j)
    seen = seen || earlier[j].item == event.item;
  const double logit = params.base + user_propensity[user] + item_appeal[event.item] +
                       (interest ? params.interest_weight : 0.0) + (seen ? params.seen_weight : 0.0);
  return 1.0 / (1.0 + std::exp(-logit));
}

BehaviorLogSummary write_behavior_log(const std::filesystem::path& out, std::uint64_t seed,
                                      std::size_t events) {
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  HEED_CHECK(!ec, "synth: cannot create output directory {}: {}", out.string(), ec.message());
  const ShopWorld world = build_shop_world(seed, events, ShopParams{});
  const std::vector<recipes::Timeline> timelines = simulate_shop(world, seed);
  const EngagementParams params;
  Rng table_rng = stream_rng(seed, Stream::kNoise);
  std::vector<double> propensity(world.users.size()), appeal(world.items());
  for (double& p : propensity) p = params.user_spread * table_rng.normal();
  for (double& a : appeal) a = params.item_spread * table_rng.normal();

  const auto path = out / "UserBehavior.csv";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw Error(fmt::format("cannot create {}", path.string()));
  // Beside it, each view's planted probability, for the ceiling of a task built from the log.
  const auto planted_path = out / "UserBehavior.planted.csv";
  std::ofstream planted_file(planted_path, std::ios::binary | std::ios::trunc);
  if (!planted_file) throw Error(fmt::format("cannot create {}", planted_path.string()));
  planted_file << "user_id,item_id,timestamp,probability\n";
  BehaviorLogSummary summary;
  std::string buffer, planted;
  const std::int64_t length = kPeriodEnd - kPeriodStart;
  for (std::uint32_t u = 0; u < timelines.size(); ++u) {
    const auto& timeline = timelines[u].events;
    Rng rng = stream_rng(seed, Stream::kClicks, u);
    // The user's views at sorted uniform times of the period, the last hour left free so that
    // an engagement stays inside it.
    std::vector<std::int64_t> times(timeline.size());
    for (auto& t : times) t = kPeriodStart + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(length - 3600)));
    std::sort(times.begin(), times.end());
    for (std::size_t k = 0; k < timeline.size(); ++k) {
      const recipes::TimelineEvent e = timeline[k];
      buffer += fmt::format("{},{},{},pv,{}\n", u + 1, e.item, e.category, times[k]);
      ++summary.views;
      const double p = engagement_probability(
          world, propensity, appeal, u, std::span<const recipes::TimelineEvent>(timeline.data(), k), e, params);
      planted += fmt::format("{},{},{},{:.6f}\n", u + 1, e.item, times[k], p);
      if (rng.bernoulli(p)) {
        // A few minutes later, before the label window of one hour ends.
        const std::int64_t later = times[k] + 60 + static_cast<std::int64_t>(rng.below(1200));
        buffer += fmt::format("{},{},{},{},{}\n", u + 1, e.item, e.category, kEngagements[rng.below(3)], later);
        ++summary.engagements;
      }
    }
    if (buffer.size() > (1u << 20)) {
      file << buffer;
      planted_file << planted;
      buffer.clear();
      planted.clear();
    }
  }
  file << buffer;
  planted_file << planted;
  if (!file) throw Error(fmt::format("cannot write {}", path.string()));
  if (!planted_file) throw Error(fmt::format("cannot write {}", planted_path.string()));
  return summary;
}

}  // namespace heed::synth
