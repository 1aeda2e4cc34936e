#pragma once
// Writing a simulated log: the TSV splits and the synth.json manifest beside them.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "prepare/synth/click_model.h"
#include "prepare/synth/impression_log.h"
#include "prepare/synth/synth_generator.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {

struct SplitStats {
  std::string_view name;  // train | valid | test
  std::size_t rows = 0;
  std::size_t clicks = 0;
  PlantedAuc planted_auc;
};

SplitStats split_stats(std::string_view name, const World& world, std::span<const Impression> rows);

// Writes `rows` (a slice of log.rows) to `path` under the kColumns header, histories cut to
// their last `max_history` clicks.
void write_tsv(const std::filesystem::path& path, const World& world, const ImpressionLog& log,
               std::span<const Impression> rows, std::size_t max_history);

// Everything a reader needs to know about a generated data set, in a stable key order.
nlohmann::ordered_json manifest(const Options& options, const World& world,
                                const ClickParams& params, const ImpressionLog& log,
                                const std::vector<SplitStats>& splits);

}  // namespace heed::synth
