#include "prepare/synth/synth_generator.h"

#include <fmt/format.h>

#include <fstream>
#include <span>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "prepare/synth/click_model.h"
#include "prepare/synth/impression_log.h"
#include "prepare/synth/synth_output.h"
#include "prepare/synth/synth_world.h"

namespace heed::synth {

Summary generate(const Options& options) {
  HEED_CHECK(!options.out.empty(), "synth: an output directory is required");
  HEED_CHECK(options.rows > 0, "synth: rows must be positive");
  HEED_CHECK(options.rows <= 1000000000, "synth: rows must be at most 1e9, got {}", options.rows);
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  HEED_CHECK(!ec, "synth: cannot create output directory {}: {}", options.out.string(),
             ec.message());

  const ClickParams params;
  const World world = build_world(options.seed, options.rows);
  const ImpressionLog log = simulate(world, options.seed, options.rows, params);

  // Split by time so valid and test lie after train, as in production. A random row split
  // would leak: a later train row's history shows whether an earlier test row was clicked.
  const std::size_t train_rows = options.rows * 8 / 10;
  const std::size_t valid_rows = options.rows / 10;
  const std::size_t test_rows = options.rows - train_rows - valid_rows;
  const std::span<const Impression> all(log.rows);
  const std::span<const Impression> parts[] = {
      all.first(train_rows), all.subspan(train_rows, valid_rows), all.last(test_rows)};
  const char* names[] = {"train", "valid", "test"};

  std::vector<SplitStats> splits;
  std::size_t clicks = 0;
  for (int s = 0; s < 3; ++s) {
    write_tsv(options.out / fmt::format("{}.tsv", names[s]), world, log, parts[s],
              options.max_history);
    splits.push_back(split_stats(names[s], world, parts[s]));
    clicks += splits.back().clicks;
  }

  const auto json_path = options.out / "synth.json";
  std::ofstream json(json_path, std::ios::binary | std::ios::trunc);
  json << manifest(options, world, params, log, splits).dump(2) << '\n';
  if (!json) throw Error(fmt::format("synth: cannot write {}", json_path.string()));

  return Summary{train_rows, valid_rows, test_rows,
                 static_cast<double>(clicks) / static_cast<double>(options.rows),
                 splits.back().planted_auc};
}

}  // namespace heed::synth
