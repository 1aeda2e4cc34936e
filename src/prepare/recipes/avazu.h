#pragma once
// `heed prepare avazu`: the Avazu click logs (Kaggle CSV: id, click, hour, C1, banner_pos,
// site_*, app_*, device_*, C14..C21) turned into heed's TSVs, the hour YYMMDDHH becoming
// hour_of_day and weekday and the impression id dropped. Rules in docs/datasets.md.
#include <filesystem>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/recipe_output.h"
#include "prepare/recipes/split_writers.h"

namespace heed::recipes {

struct AvazuOptions {
  // A folder holding Kaggle's `train` (split here by a hash of the impression id) or a head's
  // train.csv / dev.csv / test.csv (kept as given); or one file, split here. Plain or .gz.
  std::filesystem::path source;
  std::filesystem::path out;  // created if missing
  HashSplit split;            // for a single source file
  BadLinePolicy errors;       // malformed source lines: stop at the first, or skip and count
};

PrepareSummary prepare_avazu(const AvazuOptions& options);

}  // namespace heed::recipes
