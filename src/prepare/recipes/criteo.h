#pragma once
// `heed prepare criteo`: the Criteo display-advertising logs (Kaggle layout: label, I1..I13,
// C1..C26, TAB-separated) turned into heed's TSVs. Rules in docs/datasets.md.
#include <filesystem>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/recipe_output.h"
#include "prepare/recipes/split_writers.h"

namespace heed::recipes {

struct CriteoOptions {
  // A folder holding Kaggle's train.txt (split here by hash), or a head's train.csv / dev.csv /
  // test.csv (kept as given); or one file, split here by hash. Plain or .gz.
  std::filesystem::path source;
  std::filesystem::path out;  // created if missing
  HashSplit split;            // for a single source file
  BadLinePolicy errors;       // malformed source lines: stop at the first, or skip and count
};

PrepareSummary prepare_criteo(const CriteoOptions& options);

}  // namespace heed::recipes
