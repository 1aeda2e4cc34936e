#pragma once
// `heed prepare ml-100k`: turns the GroupLens MovieLens-100K files into heed's training TSVs
// with behaviour sequences (for DIN) and a user-activity field (for POSO). The columns and every
// rule are described in docs/datasets.md and in the prepare.json written beside the TSVs.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

struct MovieLensOptions {
  std::filesystem::path source;     // folder with u.data, u.user, u.item, u.genre, u1.base, ...
  std::filesystem::path out;        // created if missing
  std::string split = "u1";         // "u1".."u5", "ua", "ub" (the GroupLens files), or "time"
  std::size_t max_history = 50;     // longest behaviour sequence kept (the most recent items)
  double time_test_fraction = 0.2;  // split "time": each user's latest fraction goes to test
  // "rating": one row per rating, label rating >= 4. "next-item": the next-item task with
  // sampled negatives (next_item_task.h) over every user's ratings in time order, genre sets
  // as categories; writes train, valid and test and ignores split.
  std::string task = "rating";
  std::uint64_t seed = 1;  // next-item: seeds the negative draws
  BadLinePolicy errors;       // malformed source lines: stop at the first, or skip and count
};

// Writes options.out/train.tsv, test.tsv and prepare.json. Throws heed::Error for bad options
// or missing files, heed::ParseError (file, line, column) for a malformed input line.
PrepareSummary prepare_movielens_100k(const MovieLensOptions& options);

// `heed prepare ml-1m`: the same columns and rules from MovieLens-1M's ratings.dat, users.dat and
// movies.dat in options.source. ML-1M ships no split files, so options.split must be "time".
PrepareSummary prepare_movielens_1m(const MovieLensOptions& options);

}  // namespace heed::recipes
