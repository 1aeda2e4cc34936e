#pragma once
// The next-item task with sampled negatives, shared by `heed synth --world shop` and the
// `--task next-item` of the taobao and ml-100k recipes. Per user in time order, event k
// (k >= 1) gives two rows with the same history (the item and category of events before k,
// the last max_history of them, aligned): a positive, event k's own item, and a negative, an
// item drawn uniformly from the distinct items of the whole log (with its category). The
// user's last pair is test, the one before valid, the rest train: validation looks like test,
// one step earlier. docs/datasets.md describes the rows.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

struct TimelineEvent {
  std::uint32_t item = 0;
  std::uint32_t category = 0;
};

// One user's events, oldest first, and the key that seeds the user's negative draws (a stable
// id, so the draws do not depend on the order users are processed in).
struct Timeline {
  std::uint64_t user_key = 0;
  std::vector<TimelineEvent> events;
};

enum class NextItemPart : std::uint8_t { kTrain = 0, kValid = 1, kTest = 2 };

struct NextItemPair {
  std::uint32_t position = 0;  // the event whose item is the positive; its history precedes it
  TimelineEvent negative;
  NextItemPart part = NextItemPart::kTrain;
};

// The distinct items of the log, ascending by item, each with the category it first appears
// with: what negatives are drawn from, uniformly.
std::vector<TimelineEvent> negative_pool(std::span<const Timeline> timelines);

// The pairs of one timeline, in time order. A negative is a uniform draw from `pool` and may,
// rarely (one chance in pool.size()), be the positive's own item.
std::vector<NextItemPair> next_item_pairs(const Timeline& timeline,
                                          std::span<const TimelineEvent> pool, std::uint64_t seed);

// The columns every next-item file has, in order.
inline constexpr std::array<Column, 6> kNextItemColumns = {{
    {"label", "1: the item the user's next event was on; 0: an item drawn uniformly from the log"},
    {"user_id", "user id"},
    {"item_id", "the candidate item"},
    {"category_id", "the candidate item's category"},
    {"hist_item_ids",
     "items of the user's events before the positive's event, oldest first, most recent last, at "
     "most max_history; '|'-joined; the same for both rows of a pair"},
    {"hist_category_ids", "category of each hist_item_ids event, position by position"},
}};

// How ids become cells: the synthetic world prefixes them ("i42"), real logs print numbers or
// look a name up.
struct NextItemNames {
  std::function<void(std::string&, std::uint64_t)> user;
  std::function<void(std::string&, std::uint32_t)> item;
  std::function<void(std::string&, std::uint32_t)> category;
};

// The three files of the task, train.tsv, valid.tsv and test.tsv in `out`.
class NextItemWriter {
 public:
  NextItemWriter(const std::filesystem::path& out, NextItemNames names, std::size_t max_history);

  // Both rows of `pair` (positive first) into its part's file.
  void write(const Timeline& timeline, const NextItemPair& pair);
  // Closes the files; stats in part order (train, valid, test).
  std::array<TsvStats, 3> finish();
  std::vector<std::string> paths() const;

 private:
  void write_row(TsvWriter& file, const Timeline& timeline, std::uint32_t position,
                 TimelineEvent candidate, bool positive);

  NextItemNames names_;
  std::size_t max_history_;
  std::array<std::unique_ptr<TsvWriter>, 3> files_;
};

// prepare.json / synth.json lines describing the task.
nlohmann::ordered_json describe_next_item_task(std::size_t max_history, std::uint64_t seed,
                                               std::size_t pool_size);

}  // namespace heed::recipes
