#include "data/recipes/taobao.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "data/compressed_input.h"
#include "data/recipes/delimited_file.h"
#include "data/recipes/record_buckets.h"
#include "data/recipes/source_layout.h"
#include "hashing/feature_hash.h"

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

constexpr std::array<Column, 10> kColumns = {{
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
    {"user_activity",
     "bucket of the user's actions strictly before the view: 0, 1-4, 5-19, 20-49, 50-99, "
     "100-199, 200+"},
}};

void check_options(const TaobaoOptions& o) {
  if (o.label_window <= 0) {
    throw Error(fmt::format("label_window must be a positive number of seconds, got {}", o.label_window));
  }
  if (o.period_end <= o.period_start || o.period_end - o.period_start >= (std::int64_t{1} << 30)) {
    throw Error(fmt::format("the period [{}, {}) must be non-empty and shorter than 2^30 s",
                            o.period_start, o.period_end));
  }
  if (o.test_days < 1 || o.test_days * kDay >= o.period_end - o.period_start) {
    throw Error(fmt::format("test_days must be at least 1 and leave part of the period for "
                            "training, got {}",
                            o.test_days));
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
ReadResult read_actions(const std::filesystem::path& file, const TaobaoOptions& options,
                        RecordBuckets<Action>& buckets) {
  DelimitedFile reader(file, ',', {"user_id", "item_id", "category_id", "behavior_type", "timestamp"});
  ReadResult result;
  while (reader.next()) {
    ++result.lines;
    const auto user = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    const auto item = static_cast<std::uint32_t>(reader.integer(1, 0, kMaxId));
    const auto category = static_cast<std::uint32_t>(reader.integer(2, 0, kMaxId));
    const Behaviour behaviour = parse_behaviour(reader);
    const std::int64_t time = reader.integer(4, std::numeric_limits<std::int64_t>::min(),
                                             std::numeric_limits<std::int64_t>::max());
    if (time < options.period_start || time >= options.period_end) {
      ++result.out_of_period;
      continue;
    }
    if (options.user_fraction < 1.0) {
      const double h =
          static_cast<double>(hash_integer(user, kUserSampleSeed) >> 11) * 0x1.0p-53;
      if (h >= options.user_fraction) {
        ++result.other_users;
        continue;
      }
    }
    const auto offset = static_cast<std::uint32_t>(time - options.period_start);
    const std::size_t bucket =
        buckets.count() == 1 ? 0 : hash_integer(user, kUserBucketSeed) % buckets.count();
    buckets.add(bucket, {user, item, category, (offset << 2) | behaviour});
  }
  if (result.lines == 0) {
    reader.fail_empty("CSV lines 'user_id,item_id,category_id,behavior_type,timestamp'");
  }
  return result;
}

void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto written = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, written.ptr);
}

// Writes the row of the view `actions[v]`; `actions` are its user's, in time order.
void write_row(TsvWriter& out, std::span<const Action> actions, std::size_t v, bool positive,
               const TaobaoOptions& options) {
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
  out.cell(activity_bucket(before));
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
// action_order) go to train or test, or are counted as censored.
void write_rows(std::span<const Action> sorted, TsvWriter& train, TsvWriter& test,
                const TaobaoOptions& options, RowCounts& counts) {
  // A view is a row only when its whole label window lies inside its own part: training labels
  // never look into the test days, test labels never past the end of the log.
  const std::int64_t length = options.period_end - options.period_start;
  const std::int64_t cutoff = length - options.test_days * kDay;
  for (std::size_t first = 0; first < sorted.size();) {
    std::size_t last = first;
    while (last < sorted.size() && sorted[last].user == sorted[first].user) ++last;
    const auto actions = sorted.subspan(first, last - first);
    for (std::size_t v = 0; v < actions.size(); ++v) {
      if (actions[v].behaviour() != kPv) continue;
      ++counts.views;
      const std::int64_t t = actions[v].time();
      const bool in_train = t + options.label_window <= cutoff;
      const bool in_test = t >= cutoff && t + options.label_window <= length;
      if (!in_train && !in_test) {
        ++counts.censored;
        continue;
      }
      const bool positive = engaged_after(actions, v, options.label_window);
      write_row(in_train ? train : test, actions, v, positive, options);
    }
    first = last;
  }
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
  const ReadResult read = read_actions(file, options, buckets);

  TsvWriter train(options.out / "train.tsv", kColumns);
  TsvWriter test(options.out / "test.tsv", kColumns);
  RowCounts counts;
  std::size_t largest_bucket = 0;
  for (std::size_t b = 0; b < buckets.count(); ++b) {
    std::vector<Action> actions = buckets.take(b);
    largest_bucket = std::max(largest_bucket, actions.size());
    std::sort(actions.begin(), actions.end(), action_order);
    write_rows(actions, train, test, options, counts);
  }

  PrepareSummary summary;
  const TsvStats train_stats = train.finish();
  const TsvStats test_stats = test.finish();
  summary.train_rows = train_stats.rows;
  summary.test_rows = test_stats.rows;
  summary.files = {train.path().string(), test.path().string()};

  nlohmann::ordered_json json;
  json["dataset"] = "taobao";
  json["source"] = file.string();
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
  json["split"] = fmt::format(
      "test: views at or after {} (the last test_days of the period); train: views whose label "
      "window ends by then; views whose window would cross that cut or the period's end are "
      "dropped",
      options.period_end - options.test_days * kDay);
  json["user_fraction"] = options.user_fraction;
  json["buckets"] = {{"count", buckets.count()},
                     {"bucket_bytes", options.bucket_bytes},
                     {"largest_bucket_bytes", largest_bucket * sizeof(Action)}};
  json["counts"] = {{"lines", read.lines},
                    {"out_of_period", read.out_of_period},
                    {"other_users", read.other_users},
                    {"views", counts.views},
                    {"views_dropped_window_censored", counts.censored}};
  json["files"]["train.tsv"] = describe_file(train_stats);
  json["files"]["test.tsv"] = describe_file(test_stats);
  json["columns"] = describe_columns(kColumns);
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace heed::recipes
