#include "prepare/recipes/next_item_task.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "core/error.h"
#include "core/rng.h"

namespace heed::recipes {

std::vector<TimelineEvent> negative_pool(std::span<const Timeline> timelines) {
  std::unordered_map<std::uint32_t, std::uint32_t> category_of;
  for (const Timeline& timeline : timelines) {
    for (const TimelineEvent& event : timeline.events) category_of.emplace(event.item, event.category);
  }
  std::vector<TimelineEvent> pool;
  pool.reserve(category_of.size());
  for (const auto& [item, category] : category_of) pool.push_back({item, category});
  std::sort(pool.begin(), pool.end(),
            [](const TimelineEvent& a, const TimelineEvent& b) { return a.item < b.item; });
  return pool;
}

std::vector<NextItemPair> next_item_pairs(const Timeline& timeline,
                                          std::span<const TimelineEvent> pool, std::uint64_t seed) {
  std::vector<NextItemPair> pairs;
  const std::size_t events = timeline.events.size();
  if (events < 2) return pairs;
  HEED_CHECK(!pool.empty(), "next-item task: the negative pool is empty");
  // One stream per user, from the seed and the user's key.
  Rng rng(mix64(mix64(seed) ^ mix64(timeline.user_key + 0x6e65'7874ULL)));
  pairs.reserve(events - 1);
  for (std::size_t k = 1; k < events; ++k) {
    NextItemPair pair;
    pair.position = static_cast<std::uint32_t>(k);
    pair.negative = pool[rng.below(pool.size())];
    pair.part = k + 1 == events   ? NextItemPart::kTest
                : k + 2 == events ? NextItemPart::kValid
                                  : NextItemPart::kTrain;
    pairs.push_back(pair);
  }
  return pairs;
}

NextItemWriter::NextItemWriter(const std::filesystem::path& out, NextItemNames names,
                               std::size_t max_history)
    : names_(std::move(names)), max_history_(max_history) {
  const char* file_names[] = {"train.tsv", "valid.tsv", "test.tsv"};
  for (std::size_t p = 0; p < files_.size(); ++p) {
    files_[p] = std::make_unique<TsvWriter>(out / file_names[p], kNextItemColumns);
  }
}

void NextItemWriter::write(const Timeline& timeline, const NextItemPair& pair) {
  TsvWriter& file = *files_[static_cast<std::size_t>(pair.part)];
  write_row(file, timeline, pair.position, timeline.events[pair.position], true);
  write_row(file, timeline, pair.position, pair.negative, false);
}

void NextItemWriter::write_row(TsvWriter& file, const Timeline& timeline, std::uint32_t position,
                               TimelineEvent candidate, bool positive) {
  file.cell(positive ? "1" : "0");
  names_.user(file.open_cell(), timeline.user_key);
  names_.item(file.open_cell(), candidate.item);
  names_.category(file.open_cell(), candidate.category);
  const std::size_t first = position - std::min<std::size_t>(position, max_history_);
  std::string& items = file.open_cell();
  for (std::size_t i = first; i < position; ++i) {
    if (i > first) items += '|';
    names_.item(items, timeline.events[i].item);
  }
  std::string& categories = file.open_cell();
  for (std::size_t i = first; i < position; ++i) {
    if (i > first) categories += '|';
    names_.category(categories, timeline.events[i].category);
  }
  file.end_row(positive);
}

std::array<TsvStats, 3> NextItemWriter::finish() {
  std::array<TsvStats, 3> stats;
  for (std::size_t p = 0; p < files_.size(); ++p) stats[p] = files_[p]->finish();
  return stats;
}

std::vector<std::string> NextItemWriter::paths() const {
  std::vector<std::string> paths;
  for (const auto& file : files_) paths.push_back(file->path().string());
  return paths;
}

nlohmann::ordered_json describe_next_item_task(std::size_t max_history, std::uint64_t seed,
                                               std::size_t pool_size) {
  nlohmann::ordered_json j;
  j["task"] = "next-item";
  j["rows"] =
      "per user in time order, every event after the first gives a pair of rows with the same "
      "history (the items and categories of the earlier events, the last max_history, oldest "
      "first): label 1 for the event's own item, label 0 for an item drawn uniformly from the "
      "distinct items of the log, with its category";
  j["split"] = "each user's last pair is test, the pair before it valid, the earlier pairs train";
  j["max_history"] = max_history;
  j["negative_seed"] = seed;
  j["negative_pool_items"] = pool_size;
  return j;
}

}  // namespace heed::recipes
