#include "data/recipes/movielens.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

#include "core/error.h"
#include "data/recipes/movielens_rows.h"
#include "data/recipes/movielens_tables.h"
#include "data/recipes/user_timelines.h"

namespace heed::recipes {
namespace {

using movielens::Catalog;
using movielens::Rating;
using movielens::UserTimelines;

constexpr std::array<std::string_view, 8> kSplits = {"u1", "u2", "u3", "u4",
                                                     "u5", "ua", "ub", "time"};

void check_options(const MovieLensOptions& options) {
  if (std::find(kSplits.begin(), kSplits.end(), options.split) == kSplits.end()) {
    throw Error(fmt::format("unknown MovieLens-100K split '{}'; valid splits: {}", options.split,
                            fmt::join(kSplits, ", ")));
  }
  if (options.split == "time" &&
      !(options.time_test_fraction > 0.0 && options.time_test_fraction < 1.0)) {
    throw Error(fmt::format("time_test_fraction must be strictly between 0 and 1, got {}",
                            options.time_test_fraction));
  }
  if (!std::filesystem::is_directory(options.source)) {
    throw Error(fmt::format(
        "MovieLens-100K folder '{}' does not exist; it should hold u.data, u.user, u.item, "
        "u.genre and the split files (https://grouplens.org/datasets/movielens/100k/)",
        options.source.string()));
  }
  if (options.out.empty()) throw Error("no output folder given for the MovieLens-100K recipe");
}

struct Split {
  std::vector<Rating> train;
  std::vector<Rating> test;
};

// The GroupLens files `<name>.base` and `<name>.test`, in file order. Each of their ratings must
// be in u.data: histories come from u.data, so a split from another release would be wrong.
Split read_given_split(const MovieLensOptions& options, const Catalog& catalog,
                       const UserTimelines& timelines) {
  const auto in_u_data = [&](const Rating& rating, const DelimitedFile& reader) {
    if (!timelines.contains(rating)) {
      reader.fail(DelimitedFile::kWholeLine, "not_in_u_data",
                  "this rating is not in u.data; the split and u.data come from different "
                  "releases");
    }
  };
  Split split;
  split.train =
      movielens::read_ratings(options.source / (options.split + ".base"), catalog, in_u_data);
  split.test =
      movielens::read_ratings(options.source / (options.split + ".test"), catalog, in_u_data);
  return split;
}

// How many of a user's `n` ratings go to test: ceil(fraction * n), clamped so that every user
// keeps at least one training rating and a user with two or more ratings has a test rating.
std::size_t test_count(std::size_t n, double fraction) {
  if (n < 2) return 0;
  // The epsilon keeps 0.1 * 30 = 3.0000000000000004 from rounding up to 4.
  const auto wanted = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n) - 1e-9));
  return std::clamp<std::size_t>(wanted, 1, n - 1);
}

// Each user's ratings in (timestamp, item id) order; the latest test_count() go to test. Both
// files are ordered by (user, timestamp, item).
Split split_by_time(std::vector<Rating> ratings, double fraction) {
  std::sort(ratings.begin(), ratings.end(), [](const Rating& a, const Rating& b) {
    return std::tie(a.user, a.timestamp, a.movie, a.stars) <
           std::tie(b.user, b.timestamp, b.movie, b.stars);
  });
  Split split;
  for (std::size_t first = 0; first < ratings.size();) {
    std::size_t last = first;
    while (last < ratings.size() && ratings[last].user == ratings[first].user) ++last;
    const std::size_t boundary = last - test_count(last - first, fraction);
    split.train.insert(split.train.end(), ratings.begin() + static_cast<std::ptrdiff_t>(first),
                       ratings.begin() + static_cast<std::ptrdiff_t>(boundary));
    split.test.insert(split.test.end(), ratings.begin() + static_cast<std::ptrdiff_t>(boundary),
                      ratings.begin() + static_cast<std::ptrdiff_t>(last));
    first = last;
  }
  return split;
}

nlohmann::ordered_json describe(const MovieLensOptions& options, const movielens::TsvStats& train,
                                const movielens::TsvStats& test) {
  const auto file = [](const movielens::TsvStats& stats) {
    nlohmann::ordered_json entry;
    entry["rows"] = stats.rows;
    entry["positive_rate"] =
        stats.rows == 0 ? 0.0
                        : static_cast<double>(stats.positives) / static_cast<double>(stats.rows);
    return entry;
  };
  nlohmann::ordered_json json;
  json["dataset"] = "ml-100k";
  json["source"] = options.source.string();
  json["split"] = options.split;
  if (options.split == "time") {
    json["time_test_fraction"] = options.time_test_fraction;
    json["time_split_rule"] =
        "per user, ratings by (timestamp, item id); the latest ceil(fraction * n) go to test, "
        "clamped to [1, n - 1]; a user with a single rating stays in train";
  }
  json["max_history"] = options.max_history;
  json["label"] = "rating >= 4";
  json["history_rule"] =
      "items the user rated >= 4 strictly before the row's timestamp, over all of u.data, by "
      "(timestamp, item id), most recent last, the last max_history kept";
  json["files"]["train.tsv"] = file(train);
  json["files"]["test.tsv"] = file(test);
  json["columns"] = nlohmann::ordered_json::array();
  for (const movielens::Column& column : movielens::kColumns) {
    json["columns"].push_back({{"name", column.name}, {"description", column.description}});
  }
  return json;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Error(fmt::format("{}: cannot write the file", path.string()));
}

}  // namespace

PrepareSummary prepare_movielens_100k(const MovieLensOptions& options) {
  check_options(options);

  // Everything is read and checked before the first output byte is written.
  const Catalog catalog = movielens::read_catalog(options.source);
  const std::vector<Rating> all = movielens::read_ratings(options.source / "u.data", catalog);
  const UserTimelines timelines(all, catalog.users.size());
  const Split split = options.split == "time" ? split_by_time(all, options.time_test_fraction)
                                              : read_given_split(options, catalog, timelines);

  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  if (error) {
    throw Error(
        fmt::format("cannot create output folder '{}': {}", options.out.string(), error.message()));
  }
  const auto train_path = options.out / "train.tsv";
  const auto test_path = options.out / "test.tsv";
  const auto json_path = options.out / "prepare.json";
  const auto train =
      movielens::write_tsv(train_path, split.train, catalog, timelines, options.max_history);
  const auto test =
      movielens::write_tsv(test_path, split.test, catalog, timelines, options.max_history);
  write_text(json_path, describe(options, train, test).dump(2) + "\n");

  return PrepareSummary{
      train.rows, test.rows, {train_path.string(), test_path.string(), json_path.string()}};
}

}  // namespace heed::recipes
