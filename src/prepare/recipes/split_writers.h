#pragma once
// The three output files of a recipe (train.tsv, valid.tsv, test.tsv) and the rule that sends a
// row of a single-file source to one of them: a stable hash of a key the row carries (an
// impression id, or the whole line), so the split is the same on every run and every machine
// and never depends on the order of the lines.
#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

enum class Part { kTrain = 0, kValid = 1, kTest = 2 };
inline constexpr std::array<std::string_view, 3> kPartFiles = {"train.tsv", "valid.tsv", "test.tsv"};

struct HashSplit {
  double valid_fraction = 0.1;
  double test_fraction = 0.1;

  // Throws heed::Error unless both fractions are in [0, 1) and sum to less than 1.
  void check() const;
  // test when h < test_fraction, valid when h < test + valid, train otherwise, for h the key's
  // hash mapped uniformly into [0, 1).
  Part of(std::string_view key) const;
};

// Opens each writer when first asked for it; a recipe asks up front for every part it promises,
// so a part that receives no row is still written (header only).
class SplitWriters {
 public:
  SplitWriters(std::filesystem::path out, std::span<const Column> columns);
  TsvWriter& operator[](Part part);
  // Finishes every open writer; fills the summary's row counts and file list and the "files"
  // object of prepare.json.
  void finish(PrepareSummary& summary, nlohmann::ordered_json& files);

 private:
  std::filesystem::path out_;
  std::span<const Column> columns_;
  std::array<std::unique_ptr<TsvWriter>, 3> writers_;
};

}  // namespace heed::recipes
