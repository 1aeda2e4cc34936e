#include "prepare/recipes/movielens.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

#include "core/error.h"
#include "prepare/recipes/movielens_rows.h"
#include "prepare/recipes/movielens_split.h"
#include "prepare/recipes/movielens_tables.h"
#include "prepare/recipes/next_item_task.h"
#include "prepare/recipes/user_timelines.h"

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

// The GroupLens files `<name>.base` and `<name>.test`, in file order. Each of their ratings must
// be in u.data: histories come from u.data, so a split from another release would be wrong.
movielens::Split read_given_split(const MovieLensOptions& options, const Catalog& catalog,
                       const UserTimelines& timelines, BadLines& bad_lines) {
  const auto in_u_data = [&](const Rating& rating, const DelimitedFile& reader) {
    if (!timelines.contains(rating)) {
      reader.fail(DelimitedFile::kWholeLine, "not_in_u_data",
                  "this rating is not in u.data; the split and u.data come from different "
                  "releases");
    }
  };
  movielens::Split split;
  split.train =
      movielens::read_ratings(options.source / (options.split + ".base"), catalog, bad_lines, in_u_data);
  split.test =
      movielens::read_ratings(options.source / (options.split + ".test"), catalog, bad_lines, in_u_data);
  return split;
}

nlohmann::ordered_json describe(std::string_view dataset, std::string_view ratings_file,
                                const MovieLensOptions& options, const TsvStats& train,
                                const TsvStats& test) {
  nlohmann::ordered_json json;
  json["dataset"] = dataset;
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
  json["history_rule"] = fmt::format(
      "items the user rated >= 4 strictly before the row's timestamp, over all of {}, by "
      "(timestamp, item id), most recent last, the last max_history kept",
      ratings_file);
  json["files"]["train.tsv"] = describe_file(train);
  json["files"]["test.tsv"] = describe_file(test);
  json["columns"] = describe_columns(movielens::kColumns);
  return json;
}

// Writes the two TSVs and prepare.json of a MovieLens recipe.
PrepareSummary write_outputs(std::string_view dataset, std::string_view ratings_file,
                             const MovieLensOptions& options, const Catalog& catalog,
                             const UserTimelines& timelines, const movielens::Split& split,
                             const BadLines& bad_lines) {
  create_output_folder(options.out);
  const auto train_path = options.out / "train.tsv";
  const auto test_path = options.out / "test.tsv";
  const auto train =
      movielens::write_tsv(train_path, split.train, catalog, timelines, options.max_history);
  const auto test =
      movielens::write_tsv(test_path, split.test, catalog, timelines, options.max_history);
  PrepareSummary summary{train.rows, 0, test.rows, {train_path.string(), test_path.string()}, {}};
  auto json = describe(dataset, ratings_file, options, train, test);
  bad_lines.finish(summary, json);
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

// Skipped lines go to OUT/rejected_lines.txt as they are read, so OUT must exist by then.
BadLines open_bad_lines(const MovieLensOptions& options) {
  if (options.errors.on_error == OnError::kSkip) create_output_folder(options.out);
  return BadLines(options.errors, options.out);
}

void check_task(const MovieLensOptions& options) {
  if (options.task != "rating" && options.task != "next-item") {
    throw Error(fmt::format("unknown MovieLens task '{}'; valid tasks: rating, next-item", options.task));
  }
}

// The next-item task: every user's ratings (any number of stars) by (timestamp, movie) are the
// events, a movie's set of genres ("Action,Comedy") its category.
PrepareSummary write_next_item(std::string_view dataset, const MovieLensOptions& options,
                               const Catalog& catalog, std::vector<Rating> all,
                               const BadLines& bad_lines) {
  std::sort(all.begin(), all.end(), [](const Rating& a, const Rating& b) {
    return std::tie(a.user, a.timestamp, a.movie) < std::tie(b.user, b.timestamp, b.movie);
  });
  std::vector<std::string> genre_sets;
  for (const auto& movie : catalog.movies) genre_sets.push_back(movie.genre_set);
  std::sort(genre_sets.begin(), genre_sets.end());
  genre_sets.erase(std::unique(genre_sets.begin(), genre_sets.end()), genre_sets.end());
  std::vector<std::uint32_t> category_of(catalog.movies.size());
  for (std::size_t m = 0; m < catalog.movies.size(); ++m) {
    category_of[m] = static_cast<std::uint32_t>(
        std::lower_bound(genre_sets.begin(), genre_sets.end(), catalog.movies[m].genre_set) -
        genre_sets.begin());
  }
  std::vector<Timeline> timelines(catalog.users.size());
  for (std::size_t u = 0; u < catalog.users.size(); ++u) timelines[u].user_key = u;
  for (const Rating& r : all) timelines[r.user].events.push_back({r.movie, category_of[r.movie]});

  create_output_folder(options.out);
  const NextItemNames names{
      [&](std::string& out, std::uint64_t user) { out += catalog.users[user].id_text; },
      [&](std::string& out, std::uint32_t movie) { out += catalog.movies[movie].id_text; },
      [&](std::string& out, std::uint32_t category) { out += genre_sets[category]; }};
  const std::vector<TimelineEvent> pool = negative_pool(timelines);
  NextItemWriter writer(options.out, names, options.max_history);
  for (const Timeline& timeline : timelines) {
    for (const NextItemPair& pair : next_item_pairs(timeline, pool, options.seed)) writer.write(timeline, pair);
  }
  const auto stats = writer.finish();

  nlohmann::ordered_json json;
  json["dataset"] = dataset;
  json["source"] = options.source.string();
  json["events"] = "every rating (any number of stars), per user by (timestamp, movie id)";
  json["category"] = "the movie's set of genres as one value, e.g. Action,Comedy";
  json.update(describe_next_item_task(options.max_history, options.seed, pool.size()));
  const char* part_names[] = {"train.tsv", "valid.tsv", "test.tsv"};
  for (std::size_t p = 0; p < 3; ++p) json["files"][part_names[p]] = describe_file(stats[p]);
  json["columns"] = describe_columns(kNextItemColumns);
  PrepareSummary summary{stats[0].rows, stats[1].rows, stats[2].rows, writer.paths(), {}};
  bad_lines.finish(summary, json);
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace

PrepareSummary prepare_movielens_100k(const MovieLensOptions& options) {
  check_options(options);
  check_task(options);

  // Everything is read and checked before the first output byte is written (but for the
  // rejected-lines file under a skipping policy).
  BadLines bad_lines = open_bad_lines(options);
  const Catalog catalog = movielens::read_catalog(options.source, bad_lines);
  const std::vector<Rating> all =
      movielens::read_ratings(options.source / "u.data", catalog, bad_lines);
  if (options.task == "next-item") return write_next_item("ml-100k", options, catalog, all, bad_lines);
  const UserTimelines timelines(all, catalog.users.size());
  const movielens::Split split = options.split == "time"
                                     ? movielens::split_by_time(all, options.time_test_fraction)
                                     : read_given_split(options, catalog, timelines, bad_lines);
  return write_outputs("ml-100k", "u.data", options, catalog, timelines, split, bad_lines);
}

PrepareSummary prepare_movielens_1m(const MovieLensOptions& options) {
  check_task(options);
  if (options.split != "time") {
    throw Error(fmt::format("unknown MovieLens-1M split '{}'; valid splits: time (ML-1M ships no "
                            "split files)",
                            options.split));
  }
  if (!(options.time_test_fraction > 0.0 && options.time_test_fraction < 1.0)) {
    throw Error(fmt::format("time_test_fraction must be strictly between 0 and 1, got {}",
                            options.time_test_fraction));
  }
  if (!std::filesystem::is_directory(options.source)) {
    throw Error(fmt::format(
        "MovieLens-1M folder '{}' does not exist; it should hold ratings.dat, users.dat and "
        "movies.dat (https://grouplens.org/datasets/movielens/1m/)",
        options.source.string()));
  }
  BadLines bad_lines = open_bad_lines(options);
  const Catalog catalog = movielens::read_catalog_1m(options.source, bad_lines);
  const std::vector<Rating> all =
      movielens::read_ratings(options.source / "ratings.dat", catalog, bad_lines, {}, "::");
  if (options.task == "next-item") return write_next_item("ml-1m", options, catalog, all, bad_lines);
  const UserTimelines timelines(all, catalog.users.size());
  const movielens::Split split = movielens::split_by_time(all, options.time_test_fraction);
  return write_outputs("ml-1m", "ratings.dat", options, catalog, timelines, split, bad_lines);
}

}  // namespace heed::recipes
