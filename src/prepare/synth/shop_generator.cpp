#include "prepare/synth/shop_generator.h"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <map>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "metrics/auc.h"
#include "prepare/recipes/next_item_task.h"
#include "prepare/synth/shop_world.h"

namespace heed::synth {
namespace {

using recipes::NextItemPart;
using recipes::Timeline;
using recipes::TimelineEvent;

// Seeds the negative draws apart from the world and the events.
constexpr std::uint64_t kNegativeSeedSalt = 0x6e65'6761'7469'7665ULL;

// Per part: the planted probability that each row is the positive, and its label.
struct PartScores {
  std::vector<float> scores, labels;
  double auc() const { return metrics::auc(scores, labels); }
};

// The chance that a row with this candidate is the positive: the next event lands on it with
// probability p, a uniform negative with 1 / pool, and a pair holds one of each.
double planted_probability(double p, std::size_t pool) {
  const double negative = 1.0 / static_cast<double>(pool);
  return p / (p + negative);
}

nlohmann::ordered_json log_shape(const ShopWorld& world, std::span<const Timeline> timelines) {
  std::unordered_map<std::uint32_t, std::size_t> views;
  std::unordered_set<std::uint32_t> categories;
  std::size_t events = 0, repeats = 0, same_category = 0;
  std::vector<std::size_t> per_user;
  for (const Timeline& t : timelines) {
    per_user.push_back(t.events.size());
    for (std::size_t k = 0; k < t.events.size(); ++k) {
      ++events;
      ++views[t.events[k].item];
      categories.insert(t.events[k].category);
      if (k == 0) continue;
      const std::size_t window = std::min(kRepeatWindow, k);
      for (std::size_t j = k - window; j < k; ++j) {
        if (t.events[j].item == t.events[k].item) {
          ++repeats;
          break;
        }
      }
      same_category += t.events[k].category == t.events[k - 1].category ? 1 : 0;
    }
  }
  std::size_t once = 0, twice = 0;
  for (const auto& [item, n] : views) {
    once += n == 1 ? 1 : 0;
    twice += n == 2 ? 1 : 0;
  }
  std::sort(per_user.begin(), per_user.end());
  const double items = static_cast<double>(views.size());
  nlohmann::ordered_json j;
  j["users"] = timelines.size();
  j["events"] = events;
  j["events_per_user"] = {{"min", per_user.front()},
                          {"median", per_user[per_user.size() / 2]},
                          {"max", per_user.back()}};
  j["catalogue_items"] = world.items();
  j["items_seen"] = views.size();
  j["items_seen_once"] = static_cast<double>(once) / items;
  j["items_seen_twice"] = static_cast<double>(twice) / items;
  j["categories"] = world.params.categories;
  j["categories_seen"] = categories.size();
  j["events_repeating_an_item_of_the_last_5"] =
      static_cast<double>(repeats) / static_cast<double>(events);
  j["events_in_the_previous_events_category"] =
      static_cast<double>(same_category) / static_cast<double>(events);
  return j;
}

}  // namespace

ShopSummary generate_shop(const ShopOptions& options) {
  HEED_CHECK(!options.out.empty(), "synth: an output directory is required");
  HEED_CHECK(options.events >= 500 && options.events <= 100000000,
             "synth --world shop: rows (events) must be in [500, 1e8], got {}", options.events);
  HEED_CHECK(options.max_history > 0, "synth: max_history must be positive");
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  HEED_CHECK(!ec, "synth: cannot create output directory {}: {}", options.out.string(), ec.message());

  const ShopParams params;
  const ShopWorld world = build_shop_world(options.seed, options.events, params);
  const std::vector<Timeline> timelines = simulate_shop(world, options.seed);
  const std::vector<TimelineEvent> pool = recipes::negative_pool(timelines);
  const std::uint64_t negative_seed = options.seed ^ kNegativeSeedSalt;

  recipes::NextItemNames names{
      [](std::string& out, std::uint64_t user) { fmt::format_to(std::back_inserter(out), "u{}", user); },
      [](std::string& out, std::uint32_t item) { fmt::format_to(std::back_inserter(out), "i{}", item); },
      [](std::string& out, std::uint32_t c) { fmt::format_to(std::back_inserter(out), "c{}", c); }};
  recipes::NextItemWriter writer(options.out, names, options.max_history);
  std::array<PartScores, 3> parts;
  for (std::uint32_t u = 0; u < timelines.size(); ++u) {
    const Timeline& timeline = timelines[u];
    const std::span<const TimelineEvent> events(timeline.events);
    for (const recipes::NextItemPair& pair : recipes::next_item_pairs(timeline, pool, negative_seed)) {
      writer.write(timeline, pair);
      const auto earlier = events.first(pair.position);
      PartScores& part = parts[static_cast<std::size_t>(pair.part)];
      const std::uint32_t candidates[] = {events[pair.position].item, pair.negative.item};
      for (int c = 0; c < 2; ++c) {
        const double p = next_event_probability(world, u, earlier, candidates[c]);
        part.scores.push_back(static_cast<float>(planted_probability(p, pool.size())));
        part.labels.push_back(c == 0 ? 1.0f : 0.0f);
      }
    }
  }
  const auto stats = writer.finish();

  const nlohmann::ordered_json shape = log_shape(world, timelines);
  nlohmann::ordered_json j;
  j["generator"] = "heed synth";
  j["world"] = "shop";
  j["format_version"] = 1;
  j["description"] =
      "Synthetic e-commerce browsing log turned into the next-item task with sampled negatives. "
      "3000 categories with popularity (c + 1)^-0.9; each user follows 2-5 of them with weights "
      "e^z; each event re-views an item of the user's last 5 events (0.2), or else stays in the "
      "previous event's category (0.3), explores any category by popularity (0.1 of the rest) or "
      "follows an interest, then draws an item of the category with weight (k + 1)^-0.6. "
      "planted_auc is the AUC of the exact probability that a row is the positive. See "
      "docs/synth.md.";
  j["parameters"] = {{"rows", options.events}, {"seed", options.seed}, {"max_history", options.max_history}};
  j["process"] = {{"categories", params.categories},
                  {"category_skew", params.category_skew},
                  {"items_per_event", params.items_per_event},
                  {"item_skew", params.item_skew},
                  {"mean_events", params.mean_events},
                  {"events_sigma", params.events_sigma},
                  {"min_events", params.min_events},
                  {"interests", {params.min_interests, params.max_interests}},
                  {"interest_spread", params.interest_spread},
                  {"repeat", params.repeat},
                  {"repeat_window", kRepeatWindow},
                  {"stay", params.stay},
                  {"explore", params.explore}};
  j["log"] = shape;
  j["task"] = recipes::describe_next_item_task(options.max_history, negative_seed, pool.size());
  const char* part_names[] = {"train", "valid", "test"};
  nlohmann::ordered_json files, planted;
  planted["description"] =
      "AUC of the planted probability that a row is the positive, p / (p + 1/pool) with p the "
      "chance that the user's next event is on the candidate: the best AUC any model can reach";
  for (std::size_t p = 0; p < 3; ++p) {
    files[fmt::format("{}.tsv", part_names[p])] = recipes::describe_file(stats[p]);
    planted[part_names[p]] = parts[p].auc();
  }
  j["files"] = files;
  j["planted_auc"] = planted;
  j["columns"] = recipes::describe_columns(recipes::kNextItemColumns);
  const auto json_path = options.out / "synth.json";
  std::ofstream json(json_path, std::ios::binary | std::ios::trunc);
  json << j.dump(2) << '\n';
  if (!json) throw Error(fmt::format("synth: cannot write {}", json_path.string()));

  ShopSummary summary;
  summary.users = timelines.size();
  summary.events = shape["events"];
  summary.items_seen = pool.size();
  summary.categories_seen = shape["categories_seen"];
  summary.train_rows = stats[0].rows;
  summary.valid_rows = stats[1].rows;
  summary.test_rows = stats[2].rows;
  summary.valid_planted_auc = parts[1].auc();
  summary.test_planted_auc = parts[2].auc();
  return summary;
}

}  // namespace heed::synth
