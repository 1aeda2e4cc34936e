#include "prepare/recipes/taobao.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <memory>
#include <unordered_map>
#include <cmath>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "data/bad_rows.h"
#include "data/compressed_input.h"
#include "hashing/feature_hash.h"
#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/delimited_file.h"
#include "prepare/recipes/next_item_task.h"
#include "prepare/recipes/record_buckets.h"
#include "prepare/recipes/source_layout.h"

namespace heed::recipes {
namespace {

// Page view first: within one second a view sorts before the deeper actions, so scanning forward
// from a view finds every fav/cart/buy made in the same second.
enum Behaviour : std::uint32_t { kPv = 0, kFav = 1, kCart = 2, kBuy = 3 };
constexpr std::array<std::string_view, 4> kBehaviourNames = {"pv", "fav", "cart", "buy"};

// One action in 16 bytes (the full log has about 100 million): the time is seconds since the
// period's start, shifted left by two to make room for the behaviour.
struct Action {
  std::uint32_t user;
  std::uint32_t item;
  std::uint32_t category;
  std::uint32_t time_and_behaviour;

  std::uint32_t time() const { return time_and_behaviour >> 2; }
  Behaviour behaviour() const { return static_cast<Behaviour>(time_and_behaviour & 3u); }
};
static_assert(sizeof(Action) == 16);

bool action_order(const Action& a, const Action& b) {
  return std::tie(a.user, a.time_and_behaviour, a.item, a.category) <
         std::tie(b.user, b.time_and_behaviour, b.item, b.category);
}

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kChinaOffset = 8 * 3600;  // Tianchi's timestamps are read in UTC+8
constexpr std::int64_t kMaxId = 0xffffffffLL;
constexpr std::uint64_t kUserSampleSeed = 0x7461'6f62'616f'7573ULL;
// Not the sampling seed: with user_fraction < 1 the kept users' sampling hashes are all small,
// and would crowd into few buckets.
constexpr std::uint64_t kUserBucketSeed = 0x7461'6f62'6275'636bULL;
// A compressed source's size says little about its actions: assume it unpacks to this many
// times its size (gzip and zstd shrink this CSV about 3 to 4 times) when choosing the buckets.
constexpr std::uint64_t kAssumedCompressionRatio = 5;
// Each bucket is an open file with a 64 KiB write buffer during pass 1; more would run into the
// usual limit of 1024 open files and spend more on buffers than a bucket holds.
constexpr std::size_t kMaxBuckets = 512;

constexpr std::array<Column, 17> kColumns = {{
    {"label",
     "1 if the user favourites, carts or buys this item within label_window seconds from the "
     "view (at or after its second), else 0"},
    {"user_id", "user id"},
    {"item_id", "the viewed item"},
    {"category_id", "the viewed item's category"},
    {"timestamp", "unix seconds of the view; kept for reference, not a feature"},
    {"hour_of_day", "00..23 in China time (UTC+8)"},
    {"weekday", "Mon..Sun in China time"},
    {"hist_item_ids",
     "items of the user's actions (pv, fav, cart, buy) strictly before the view, oldest first, "
     "most recent last, at most max_history; '|'-joined"},
    {"hist_category_ids", "category of each hist_item_ids action, position by position"},
    {"hist_behaviors",
     "behaviour (pv, fav, cart, buy) of each hist_item_ids action, position by position: the "
     "user's recent engagement, and whether the viewed item was carted or bought before"},
    {"user_activity",
     "bucket of the user's actions strictly before the view: 0, 1-4, 5-19, 20-49, 50-99, "
     "100-199, 200+"},
    {"item_views_before",
     "how often the user viewed this item strictly before the view, over the whole log so far: "
     "0, 1, 2, 3-5, 6+"},
    {"user_engagement",
     "the user's fav, cart and buy actions per view strictly before the view, over the whole log "
     "so far: none (no earlier view), 0, 0-0.1, 0.1-0.2, 0.2-0.35, 0.35-0.5, 0.5+"},
    {"item_recency",
     "the user's actions since they last touched this item (any behaviour) strictly before the "
     "view: never, 1 (the last action before the view), 2-3, 4-7, 8-15, 16-31, 32+"},
    {"category_share",
     "share of the user's actions strictly before the view, over the whole log so far, that are "
     "in this item's category: none (no earlier action), 0, 0-0.05, 0.05-0.1, 0.1-0.2, 0.2-0.4, 0.4+"},
    {"item_popularity",
     "views of this item by every user on the days before the view's day (China time): 0, 1, 2, "
     "3-5, 6-10, 11-20, 21-50, 51-100, 101+"},
    {"item_engagement",
     "every user's fav, cart and buy actions of this item per view of it on the days before the "
     "view's day (China time): none (no earlier view), 0, 0-0.1, 0.1-0.2, 0.2-0.35, 0.35-0.5, 0.5+"},
}};

// Engagements per view as a bucket: the scale of user_engagement and item_engagement.
std::string_view rate_bucket(std::size_t engagements, std::size_t views) {
  if (views == 0) return "none";
  const double rate = static_cast<double>(engagements) / static_cast<double>(views);
  return rate == 0.0 ? "0" : rate <= 0.1 ? "0-0.1" : rate <= 0.2 ? "0.1-0.2" : rate <= 0.35 ? "0.2-0.35"
         : rate <= 0.5 ? "0.35-0.5" : "0.5+";
}

// The day of a unix time in China time, counted from the day the period starts in.
std::uint32_t day_in_period(std::int64_t time, std::int64_t period_start) {
  const auto china_day = [](std::int64_t t) {
    const std::int64_t local = t + kChinaOffset;
    return local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
  };
  return static_cast<std::uint32_t>(china_day(time) - china_day(period_start));
}

// Every user's views and fav/cart/buy actions of each item, per day. Pass 1 tallies them over
// the whole log (an item's actions lie in every user's bucket, so they cannot wait for pass 2);
// a row reads the days before its own, so what it sees is in its past and the same whatever
// the buckets. Memory: 16 bytes per item and day with an action, in one sorted array, plus the
// actions not yet folded into it (8 bytes each, at most an eighth of the bucket budget). A hash
// map of the same tallies took about 55 bytes an entry, and as much again while it was sorted.
class ItemDays {
 public:
  struct Tally {
    std::uint32_t views = 0, engagements = 0;
  };

  // `budget_bytes`: the bucket budget; the actions waiting to be folded take an eighth of it.
  explicit ItemDays(std::size_t budget_bytes) : pending_limit_(std::max<std::size_t>(budget_bytes / 64, 1)) {}

  void add(std::uint32_t item, std::uint32_t day, Behaviour behaviour) {
    // Sorted as numbers, the records sort by item, then day (days are below 2^30).
    pending_.push_back((std::uint64_t{item} << 32) | (std::uint64_t{day} << 1) | (behaviour == kPv ? 0u : 1u));
    if (pending_.size() >= pending_limit_) fold_pending();
  }

  // Turns the tallies into running sums per item, for before().
  void finish() {
    fold_pending();
    pending_ = {};
    for (std::size_t i = 1; i < entries_.size(); ++i) {
      if (entries_[i].item != entries_[i - 1].item) continue;
      entries_[i].so_far.views += entries_[i - 1].so_far.views;
      entries_[i].so_far.engagements += entries_[i - 1].so_far.engagements;
    }
  }

  // The item's tallies over the days before `day`.
  Tally before(std::uint32_t item, std::uint32_t day) const {
    const auto it = std::lower_bound(entries_.begin(), entries_.end(), key(item, day),
                                     [](const Entry& e, std::uint64_t k) { return key(e) < k; });
    if (it == entries_.begin() || std::prev(it)->item != item) return {};
    return std::prev(it)->so_far;
  }

 private:
  struct Entry {
    std::uint32_t item, day;
    Tally so_far;  // that day's tallies until finish(); then the days up to this one
  };
  static std::uint64_t key(std::uint32_t item, std::uint32_t day) { return (std::uint64_t{item} << 32) | day; }
  static std::uint64_t key(const Entry& e) { return key(e.item, e.day); }
  static std::uint64_t key_of_record(std::uint64_t record) {
    return key(static_cast<std::uint32_t>(record >> 32), static_cast<std::uint32_t>(record) >> 1);
  }

  // One (item, day) of the sorted pending records: its key and tallies; `end` is where the next
  // begins.
  struct Group {
    std::uint64_t key;
    Tally tally;
    std::size_t end;
  };
  Group group_at(std::size_t begin) const {
    Group g{key_of_record(pending_[begin]), {}, begin};
    for (; g.end < pending_.size() && key_of_record(pending_[g.end]) == g.key; ++g.end)
      ((pending_[g.end] & 1) ? g.tally.engagements : g.tally.views) += 1;
    return g;
  }

  // Adds the pending records to the sorted entries without a second copy of either: one walk
  // adds the tallies of (item, day)s already there and counts the new ones, a walk from the back
  // then moves the entries up and puts the new ones in their places.
  void fold_pending() {
    if (pending_.empty()) return;
    std::sort(pending_.begin(), pending_.end());
    std::size_t fresh = 0;
    for (std::size_t at = 0, e = 0; at < pending_.size();) {
      const Group g = group_at(at);
      while (e < entries_.size() && key(entries_[e]) < g.key) ++e;
      if (e < entries_.size() && key(entries_[e]) == g.key) {
        entries_[e].so_far.views += g.tally.views;
        entries_[e].so_far.engagements += g.tally.engagements;
      } else {
        ++fresh;
      }
      at = g.end;
    }
    if (fresh > 0) {
      std::size_t old_end = entries_.size();
      entries_.resize(entries_.size() + fresh);
      std::size_t write = entries_.size();
      for (std::size_t end = pending_.size(); end > 0;) {  // the groups, last first
        std::size_t begin = end - 1;
        while (begin > 0 && key_of_record(pending_[begin - 1]) == key_of_record(pending_[begin])) --begin;
        const Group g = group_at(begin);
        end = begin;
        while (old_end > 0 && key(entries_[old_end - 1]) > g.key)
          entries_[--write] = entries_[--old_end];
        if (old_end > 0 && key(entries_[old_end - 1]) == g.key) continue;  // added above
        entries_[--write] = Entry{static_cast<std::uint32_t>(g.key >> 32), static_cast<std::uint32_t>(g.key), g.tally};
      }
    }
    pending_.clear();
  }

  std::size_t pending_limit_;
  std::vector<std::uint64_t> pending_;  // item << 32 | day << 1 | engaged, for actions not yet folded
  std::vector<Entry> entries_;          // sorted by (item, day), one per item and day
};

std::string_view popularity_bucket(std::uint32_t views) {
  return views == 0 ? "0" : views == 1 ? "1" : views == 2 ? "2" : views <= 5 ? "3-5" : views <= 10 ? "6-10"
         : views <= 20 ? "11-20" : views <= 50 ? "21-50" : views <= 100 ? "51-100" : "101+";
}

void check_options(const TaobaoOptions& o) {
  if (o.label_window <= 0) {
    throw Error(fmt::format("label_window must be a positive number of seconds, got {}", o.label_window));
  }
  if (o.period_end <= o.period_start || o.period_end - o.period_start >= (std::int64_t{1} << 30)) {
    throw Error(fmt::format("the period [{}, {}) must be non-empty and shorter than 2^30 s",
                            o.period_start, o.period_end));
  }
  if (o.test_days < 1 || o.valid_days < 0 ||
      (o.test_days + o.valid_days) * kDay >= o.period_end - o.period_start) {
    throw Error(fmt::format("test_days must be at least 1, valid_days at least 0, and together "
                            "they must leave part of the period for training, got {} and {}",
                            o.test_days, o.valid_days));
  }
  if (o.task != "click" && o.task != "next-item") {
    throw Error(fmt::format("unknown Taobao task '{}'; valid tasks: click, next-item", o.task));
  }
  if (!(o.user_fraction > 0.0 && o.user_fraction <= 1.0)) {
    throw Error(fmt::format("user_fraction must be in (0, 1], got {}", o.user_fraction));
  }
  if (o.bucket_bytes < sizeof(Action)) {
    throw Error(fmt::format("bucket_bytes must hold at least one action ({} bytes), got {}",
                            sizeof(Action), o.bucket_bytes));
  }
}

// Enough buckets that each holds about bucket_bytes of actions at most. A kept line is at least
// "0,0,0,pv," and a timestamp no shorter than the period's start, so a plain file's size bounds
// its actions; a compressed one's is scaled by kAssumedCompressionRatio. The user sample
// shrinks the count in proportion (its hash spreads users evenly).
std::size_t bucket_count(const std::filesystem::path& file, const TaobaoOptions& options) {
  const bool compressed = std::string_view(open_compressed_input(file)->kind()) != "plain";
  const double bytes = static_cast<double>(std::filesystem::file_size(file)) *
                       static_cast<double>(compressed ? kAssumedCompressionRatio : 1);
  const std::string earliest = std::to_string(std::max<std::int64_t>(options.period_start, 0));
  const double shortest_line = static_cast<double>(std::string_view("0,0,0,pv,").size() + earliest.size() + 1);
  const double actions = std::floor((bytes + 1) / shortest_line) * options.user_fraction;
  const double buckets = std::ceil(actions * sizeof(Action) / static_cast<double>(options.bucket_bytes));
  if (buckets > kMaxBuckets) {
    throw Error(fmt::format("{}: its actions would need {} buckets of bucket_bytes = {} (--bucket-mb), "
                            "more than {}; allow more memory",
                            file.string(), buckets, options.bucket_bytes, kMaxBuckets));
  }
  return static_cast<std::size_t>(std::max(1.0, buckets));
}

struct ReadResult {
  std::size_t lines = 0;
  std::size_t skipped = 0;  // malformed lines left out under on_error = "skip"
  std::map<std::string, std::uint64_t> skipped_by_reason;
  std::string skip_summary;
  std::size_t out_of_period = 0;
  std::size_t other_users = 0;  // left out by user_fraction
};

Behaviour parse_behaviour(const DelimitedFile& reader) {
  const std::string_view text = reader.field(3);
  for (std::size_t b = 0; b < kBehaviourNames.size(); ++b) {
    if (text == kBehaviourNames[b]) return static_cast<Behaviour>(b);
  }
  reader.fail(3, "bad_behaviour",
              fmt::format("expected a behaviour pv, fav, cart or buy, found {}", quoted(text)));
}

// Pass 1: every kept action into its user's bucket.
// `items`, when given, collects every kept item with the first category it is seen with;
// `item_days`, when given, tallies every kept action by item and day.
ReadResult read_actions(const std::filesystem::path& file, const TaobaoOptions& options,
                        RecordBuckets<Action>& buckets,
                        std::unordered_map<std::uint32_t, std::uint32_t>* items, ItemDays* item_days) {
  DelimitedFile reader(file, ',', {"user_id", "item_id", "category_id", "behavior_type", "timestamp"});
  ReadResult result;
  BadLines bad_lines(options.errors, options.out);
  // Every check on the line's fields happens before it is added, so a rejected line adds nothing.
  bad_lines.read_all(reader, [&] {
    const auto user = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    const auto item = static_cast<std::uint32_t>(reader.integer(1, 0, kMaxId));
    const auto category = static_cast<std::uint32_t>(reader.integer(2, 0, kMaxId));
    const Behaviour behaviour = parse_behaviour(reader);
    const std::int64_t time =
        reader.integer(4, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
    ++result.lines;
    if (time < options.period_start || time >= options.period_end) {
      ++result.out_of_period;
      return;
    }
    if (options.user_fraction < 1.0) {
      const double h =
          static_cast<double>(hash_integer(user, kUserSampleSeed) >> 11) * 0x1.0p-53;
      if (h >= options.user_fraction) {
        ++result.other_users;
        return;
      }
    }
    const auto offset = static_cast<std::uint32_t>(time - options.period_start);
    const std::size_t bucket =
        buckets.count() == 1 ? 0 : hash_integer(user, kUserBucketSeed) % buckets.count();
    buckets.add(bucket, {user, item, category, (offset << 2) | behaviour});
    if (items) items->emplace(item, category);
    if (item_days) item_days->add(item, day_in_period(time, options.period_start), behaviour);
  });
  if (result.lines == 0) {
    reader.fail_empty("CSV lines 'user_id,item_id,category_id,behavior_type,timestamp'");
  }
  const BadRowLog& bad_rows = bad_lines.log();
  bad_rows.check_fraction();
  result.skipped = bad_rows.skipped();
  result.skipped_by_reason = bad_rows.by_reason();
  if (result.skipped > 0) result.skip_summary = bad_rows.summary();
  return result;
}

void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto written = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, written.ptr);
}

// What a user did before a view, tallied once as their views go by in time order (a per-row
// count over the whole past would be quadratic in the user's actions).
struct UserPast {
  std::size_t counted = 0;  // actions [0, counted) are in the tallies
  std::size_t views = 0, engagements = 0;
  std::unordered_map<std::uint32_t, std::uint32_t> views_of_item;
  std::unordered_map<std::uint32_t, std::size_t> last_touch;  // item -> index of its latest action
  std::unordered_map<std::uint32_t, std::uint32_t> actions_in_category;

  void advance_to(std::span<const Action> actions, std::size_t before) {
    for (; counted < before; ++counted) {
      last_touch[actions[counted].item] = counted;
      ++actions_in_category[actions[counted].category];
      if (actions[counted].behaviour() == kPv) {
        ++views;
        ++views_of_item[actions[counted].item];
      } else {
        ++engagements;
      }
    }
  }
  std::string_view item_views_bucket(std::uint32_t item) const {
    const auto it = views_of_item.find(item);
    const std::uint32_t n = it == views_of_item.end() ? 0 : it->second;
    return n == 0 ? "0" : n == 1 ? "1" : n == 2 ? "2" : n <= 5 ? "3-5" : "6+";
  }
  std::string_view engagement_bucket() const { return rate_bucket(engagements, views); }
  // Actions since the item was last touched, 1 for the latest of the `counted` so far.
  std::string_view recency_bucket(std::uint32_t item) const {
    const auto it = last_touch.find(item);
    if (it == last_touch.end()) return "never";
    const std::size_t since = counted - it->second;
    return since == 1 ? "1" : since <= 3 ? "2-3" : since <= 7 ? "4-7" : since <= 15 ? "8-15" : since <= 31 ? "16-31"
           : "32+";
  }
  // How much of the user's past is in this category: their interests, beyond the 50 actions of
  // the history.
  std::string_view category_share_bucket(std::uint32_t category) const {
    if (counted == 0) return "none";
    const auto it = actions_in_category.find(category);
    if (it == actions_in_category.end()) return "0";
    const double share = static_cast<double>(it->second) / static_cast<double>(counted);
    return share < 0.05 ? "0-0.05" : share < 0.1 ? "0.05-0.1" : share < 0.2 ? "0.1-0.2" : share < 0.4 ? "0.2-0.4"
           : "0.4+";
  }
};

// Writes the row of the view `actions[v]`; `actions` are its user's, in time order, and `past`
// the user's tallies, which this moves up to the view.
void write_row(TsvWriter& out, std::span<const Action> actions, std::size_t v, bool positive,
               const TaobaoOptions& options, UserPast& past, const ItemDays& item_days) {
  static constexpr std::array<std::string_view, 7> kWeekdays = {"Thu", "Fri", "Sat", "Sun",
                                                                "Mon", "Tue", "Wed"};  // from 1970-01-01
  const Action& view = actions[v];
  const std::int64_t time = options.period_start + view.time();
  out.cell(positive ? "1" : "0");
  append_integer(out.open_cell(), view.user);
  append_integer(out.open_cell(), view.item);
  append_integer(out.open_cell(), view.category);
  append_integer(out.open_cell(), time);
  const std::int64_t local = time + kChinaOffset;
  const std::int64_t day = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
  const std::int64_t hour = (local - day * kDay) / 3600;
  std::string& hour_cell = out.open_cell();
  if (hour < 10) hour_cell += '0';
  append_integer(hour_cell, hour);
  out.cell(kWeekdays[static_cast<std::size_t>(((day % 7) + 7) % 7)]);

  // Actions strictly before the view's second; same-second actions are not its past.
  const std::size_t before = static_cast<std::size_t>(
      std::lower_bound(actions.begin(), actions.begin() + static_cast<std::ptrdiff_t>(v),
                       view.time(), [](const Action& a, std::uint32_t t) { return a.time() < t; }) -
      actions.begin());
  const std::size_t first = before - std::min(before, options.max_history);
  std::string& items = out.open_cell();
  for (std::size_t i = first; i < before; ++i) {
    if (i > first) items += '|';
    append_integer(items, actions[i].item);
  }
  std::string& categories = out.open_cell();
  for (std::size_t i = first; i < before; ++i) {
    if (i > first) categories += '|';
    append_integer(categories, actions[i].category);
  }
  std::string& behaviours = out.open_cell();
  for (std::size_t i = first; i < before; ++i) {
    if (i > first) behaviours += '|';
    behaviours += kBehaviourNames[actions[i].behaviour()];
  }
  out.cell(activity_bucket(before));
  past.advance_to(actions, before);
  out.cell(past.item_views_bucket(view.item));
  out.cell(past.engagement_bucket());
  out.cell(past.recency_bucket(view.item));
  out.cell(past.category_share_bucket(view.category));
  const ItemDays::Tally item = item_days.before(view.item, day_in_period(time, options.period_start));
  out.cell(popularity_bucket(item.views));
  out.cell(rate_bucket(item.engagements, item.views));
  out.end_row(positive);
}

// Whether the user favourites, carts or buys the viewed item in [t, t + window).
bool engaged_after(std::span<const Action> actions, std::size_t v, std::int64_t window) {
  const Action& view = actions[v];
  const std::int64_t end = static_cast<std::int64_t>(view.time()) + window;
  for (std::size_t i = v + 1; i < actions.size() && actions[i].time() < end; ++i) {
    if (actions[i].item == view.item && actions[i].behaviour() != kPv) return true;
  }
  return false;
}

struct RowCounts {
  std::size_t views = 0;
  std::size_t censored = 0;
};

// Pass 2, for one bucket: the rows of the views in `sorted` (actions of whole users, sorted by
// action_order) go to train, valid or test, or are counted as censored.
void write_rows(std::span<const Action> sorted, TsvWriter& train, TsvWriter* valid, TsvWriter& test,
                const TaobaoOptions& options, const ItemDays& item_days, RowCounts& counts) {
  // A view is a row only when its whole label window lies inside its own part: training labels
  // never look into the validation or test days, test labels never past the end of the log.
  // Validation is built as test is, one part earlier: every user's views of its days.
  const std::int64_t length = options.period_end - options.period_start;
  const std::int64_t cutoff = length - options.test_days * kDay;
  const std::int64_t valid_start = cutoff - options.valid_days * kDay;
  for (std::size_t first = 0; first < sorted.size();) {
    std::size_t last = first;
    while (last < sorted.size() && sorted[last].user == sorted[first].user) ++last;
    const auto actions = sorted.subspan(first, last - first);
    UserPast past;
    for (std::size_t v = 0; v < actions.size(); ++v) {
      if (actions[v].behaviour() != kPv) continue;
      ++counts.views;
      const std::int64_t t = actions[v].time();
      const std::int64_t end = t + options.label_window;
      TsvWriter* part = nullptr;
      if (end <= valid_start) {
        part = &train;
      } else if (valid && t >= valid_start && end <= cutoff) {
        part = valid;
      } else if (t >= cutoff && end <= length) {
        part = &test;
      }
      if (!part) {
        ++counts.censored;
        continue;
      }
      const bool positive = engaged_after(actions, v, options.label_window);
      write_row(*part, actions, v, positive, options, past, item_days);
    }
    first = last;
  }
}

// Pass 2 of the next-item task, for one bucket: every user's actions, in action_order, are the
// events of one timeline.
void write_next_item_rows(std::span<const Action> sorted, std::span<const TimelineEvent> pool,
                          NextItemWriter& writer, const TaobaoOptions& options) {
  Timeline timeline;
  for (std::size_t first = 0; first < sorted.size();) {
    std::size_t last = first;
    while (last < sorted.size() && sorted[last].user == sorted[first].user) ++last;
    timeline.user_key = sorted[first].user;
    timeline.events.clear();
    for (std::size_t a = first; a < last; ++a) timeline.events.push_back({sorted[a].item, sorted[a].category});
    for (const NextItemPair& pair : next_item_pairs(timeline, pool, options.seed)) writer.write(timeline, pair);
    first = last;
  }
}

NextItemNames numeric_names() {
  const auto number = [](std::string& out, std::uint64_t id) { append_integer(out, static_cast<std::int64_t>(id)); };
  return {number, [number](std::string& out, std::uint32_t id) { number(out, id); },
          [number](std::string& out, std::uint32_t id) { number(out, id); }};
}

}  // namespace

PrepareSummary prepare_taobao(const TaobaoOptions& options) {
  check_options(options);
  std::filesystem::path file = options.source;
  if (std::filesystem::is_directory(file)) {
    const auto found = find_first(file, {"UserBehavior.csv"});
    if (!found) {
      throw Error(fmt::format("{}: no UserBehavior.csv (or .csv.gz) in this folder", file.string()));
    }
    file = *found;
  } else if (!std::filesystem::is_regular_file(file)) {
    throw Error(fmt::format("Taobao source '{}' does not exist; it should be UserBehavior.csv "
                            "from Tianchi, or a folder holding it",
                            file.string()));
  }

  // Memory holds one bucket of actions at a time (bucket_bytes, or the whole log when it fits):
  // pass 1 spreads the actions over the buckets by user, pass 2 sorts each and writes its
  // users' rows. Users come bucket by bucket, so with several buckets the files are not in
  // user order; each user's rows still are in time order, and the rows themselves are the same.
  const std::size_t count = bucket_count(file, options);
  create_output_folder(options.out);
  RecordBuckets<Action> buckets(options.out / "taobao_buckets.tmp", count);
  const bool next_item = options.task == "next-item";
  std::unordered_map<std::uint32_t, std::uint32_t> items;
  ItemDays item_days(options.bucket_bytes);
  const ReadResult read =
      read_actions(file, options, buckets, next_item ? &items : nullptr, next_item ? nullptr : &item_days);
  item_days.finish();

  PrepareSummary summary;
  nlohmann::ordered_json json;
  json["dataset"] = "taobao";
  json["source"] = file.string();
  std::size_t largest_bucket = 0;
  if (next_item) {
    std::vector<TimelineEvent> pool;
    pool.reserve(items.size());
    for (const auto& [item, category] : items) pool.push_back({item, category});
    std::sort(pool.begin(), pool.end(),
              [](const TimelineEvent& a, const TimelineEvent& b) { return a.item < b.item; });
    NextItemWriter writer(options.out, numeric_names(), options.max_history);
    for (std::size_t b = 0; b < buckets.count(); ++b) {
      std::vector<Action> actions = buckets.take(b);
      largest_bucket = std::max(largest_bucket, actions.size());
      std::sort(actions.begin(), actions.end(), action_order);
      write_next_item_rows(actions, pool, writer, options);
    }
    const auto stats = writer.finish();
    summary = {stats[0].rows, stats[1].rows, stats[2].rows, writer.paths(), {}};
    json["events"] =
        "every action of the period (pv, fav, cart, buy), per user by (time, behaviour "
        "pv<fav<cart<buy, item)";
    json.update(describe_next_item_task(options.max_history, options.seed, pool.size()));
    json["period"] = {options.period_start, options.period_end};
    json["user_fraction"] = options.user_fraction;
    json["buckets"] = {{"count", buckets.count()},
                       {"bucket_bytes", options.bucket_bytes},
                       {"largest_bucket_bytes", largest_bucket * sizeof(Action)}};
    json["counts"] = {{"lines", read.lines},
                      {"skipped_lines", read.skipped},
                      {"skipped_by_reason", read.skipped_by_reason},
                      {"out_of_period", read.out_of_period},
                      {"other_users", read.other_users}};
    if (!read.skip_summary.empty()) summary.notes.push_back(read.skip_summary);
    const char* part_names[] = {"train.tsv", "valid.tsv", "test.tsv"};
    for (std::size_t p = 0; p < 3; ++p) json["files"][part_names[p]] = describe_file(stats[p]);
    json["columns"] = describe_columns(kNextItemColumns);
    summary.files.push_back(write_prepare_json(options.out, json).string());
    return summary;
  }

  TsvWriter train(options.out / "train.tsv", kColumns);
  std::unique_ptr<TsvWriter> valid;
  if (options.valid_days > 0) valid = std::make_unique<TsvWriter>(options.out / "valid.tsv", kColumns);
  TsvWriter test(options.out / "test.tsv", kColumns);
  RowCounts counts;
  for (std::size_t b = 0; b < buckets.count(); ++b) {
    std::vector<Action> actions = buckets.take(b);
    largest_bucket = std::max(largest_bucket, actions.size());
    std::sort(actions.begin(), actions.end(), action_order);
    write_rows(actions, train, valid.get(), test, options, item_days, counts);
  }

  const TsvStats train_stats = train.finish();
  const TsvStats valid_stats = valid ? valid->finish() : TsvStats{};
  const TsvStats test_stats = test.finish();
  summary.train_rows = train_stats.rows;
  summary.valid_rows = valid_stats.rows;
  summary.test_rows = test_stats.rows;
  summary.files = {train.path().string()};
  if (valid) summary.files.push_back(valid->path().string());
  summary.files.push_back(test.path().string());

  json["rows"] = "one per page view (pv); fav, cart and buy actions only feed labels and histories";
  json["label"] = fmt::format(
      "1 if the same user favourites, carts or buys the same item at a time in [t, t + {}) s, t "
      "the view's timestamp",
      options.label_window);
  json["label_window"] = options.label_window;
  json["history_rule"] =
      "the user's actions of any kind strictly before t, by (time, behaviour pv<fav<cart<buy, "
      "item), most recent last, the last max_history kept";
  json["max_history"] = options.max_history;
  json["period"] = {options.period_start, options.period_end};
  json["test_days"] = options.test_days;
  json["valid_days"] = options.valid_days;
  const std::int64_t test_start = options.period_end - options.test_days * kDay;
  const std::int64_t valid_start = test_start - options.valid_days * kDay;
  json["split"] = fmt::format(
      "test: views at or after {} (the last test_days of the period) whose label window ends by "
      "the period's end; valid: views at or after {} (the valid_days before) whose window ends "
      "by {}; train: views whose window ends by {}; views whose window would cross a cut are "
      "dropped. Validation thus holds every user's views of the days just before test, as test "
      "holds those of the last days",
      test_start, valid_start, test_start, valid_start);
  json["user_fraction"] = options.user_fraction;
  json["buckets"] = {{"count", buckets.count()},
                     {"bucket_bytes", options.bucket_bytes},
                     {"largest_bucket_bytes", largest_bucket * sizeof(Action)}};
  if (!read.skip_summary.empty()) summary.notes.push_back(read.skip_summary);
  json["counts"] = {{"lines", read.lines},
                    {"skipped_lines", read.skipped},
                    {"skipped_by_reason", read.skipped_by_reason},
                    {"out_of_period", read.out_of_period},
                    {"other_users", read.other_users},
                    {"views", counts.views},
                    {"views_dropped_window_censored", counts.censored}};
  json["files"]["train.tsv"] = describe_file(train_stats);
  if (valid) json["files"]["valid.tsv"] = describe_file(valid_stats);
  json["files"]["test.tsv"] = describe_file(test_stats);
  json["columns"] = describe_columns(kColumns);
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace heed::recipes
