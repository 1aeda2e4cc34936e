#include "prepare/recipes/source_layout.h"

#include <fmt/ranges.h>

#include "core/error.h"

namespace heed::recipes {

std::optional<std::filesystem::path> find_first(const std::filesystem::path& folder,
                                                std::initializer_list<std::string_view> names) {
  for (const std::string_view name : names) {
    const auto plain = folder / name;
    if (std::filesystem::is_regular_file(plain)) return plain;
    auto gz = plain;
    gz += ".gz";
    if (std::filesystem::is_regular_file(gz)) return gz;
  }
  return std::nullopt;
}

std::vector<SourceFile> resolve_source(const std::filesystem::path& source, std::string_view dataset,
                                       const std::array<std::initializer_list<std::string_view>, 3>& given,
                                       std::initializer_list<std::string_view> single) {
  if (std::filesystem::is_regular_file(source)) return {{source, std::nullopt}};
  if (!std::filesystem::is_directory(source)) {
    throw Error(fmt::format("{} source '{}' does not exist", dataset, source.string()));
  }
  std::vector<SourceFile> files;
  for (std::size_t p = 0; p < given.size(); ++p) {
    if (auto path = find_first(source, given[p])) files.push_back({*path, static_cast<Part>(p)});
  }
  const bool has_train = !files.empty() && files.front().part == Part::kTrain;
  if (has_train) return files;
  if (auto path = find_first(source, single)) return {{*path, std::nullopt}};
  throw Error(fmt::format("{}: no {} files found; expected {} (a split as given) or {} (one file "
                          "that heed splits), plain or .gz",
                          source.string(), dataset, fmt::join(given[0], " / "),
                          fmt::join(single, " / ")));
}

bool open_hashed_parts(const std::vector<SourceFile>& sources, const HashSplit& split, SplitWriters& writers) {
  const bool hashed = !sources.front().part.has_value();
  if (hashed) {
    writers[Part::kTrain];
    if (split.valid_fraction > 0) writers[Part::kValid];
    if (split.test_fraction > 0) writers[Part::kTest];
  }
  return hashed;
}

void describe_split(nlohmann::ordered_json& json, const std::vector<SourceFile>& sources, const HashSplit& split,
                    std::string_view hash_key) {
  json["sources"] = nlohmann::ordered_json::object();
  for (const SourceFile& source : sources) {
    json["sources"][source.path.filename().string()] =
        source.part ? std::string(kPartFiles[static_cast<std::size_t>(*source.part)]) : std::string("split by hash");
  }
  if (sources.front().part.has_value()) {
    json["split"] = "as given";
    return;
  }
  json["split"] = fmt::format("stable hash of {}: test below test_fraction, valid below test_fraction + "
                              "valid_fraction, train otherwise",
                              hash_key);
  json["valid_fraction"] = split.valid_fraction;
  json["test_fraction"] = split.test_fraction;
}

}  // namespace heed::recipes
