#pragma once
// Where a recipe's rows come from: either files that already are a split (Criteo's and Avazu's
// heads ship train/dev/test), or one file that the recipe splits itself.
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "prepare/recipes/split_writers.h"

namespace heed::recipes {

struct SourceFile {
  std::filesystem::path path;
  std::optional<Part> part;  // the split it already is; nothing: split by HashSplit
};

// The first of `names` (each tried plain and with .gz) that exists in `folder`.
std::optional<std::filesystem::path> find_first(const std::filesystem::path& folder,
                                                std::initializer_list<std::string_view> names);

// `source` as a list of files: a file is split by hash; a folder with any of `given` (train,
// valid, test names) uses them as they are; else a folder with one of `single` is split by
// hash. Throws heed::Error naming what was looked for.
std::vector<SourceFile> resolve_source(const std::filesystem::path& source, std::string_view dataset,
                                       const std::array<std::initializer_list<std::string_view>, 3>& given,
                                       std::initializer_list<std::string_view> single);

// Whether `sources` is one file that the recipe splits by hash. If so, opens every part `split`
// promises, so a part that receives no row is still written.
bool open_hashed_parts(const std::vector<SourceFile>& sources, const HashSplit& split, SplitWriters& writers);

// prepare.json's account of the split: which source file went where, and the hash rule over
// `hash_key` (e.g. "the whole line") when the recipe split one file itself.
void describe_split(nlohmann::ordered_json& json, const std::vector<SourceFile>& sources, const HashSplit& split,
                    std::string_view hash_key);

}  // namespace heed::recipes
