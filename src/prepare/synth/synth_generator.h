#pragma once
// `heed synth`: writes a synthetic click log whose planted process makes each of heed's
// attention-like modules measurably useful (DIN: history relevance is a count over matching
// clicks; SENet: three pure-noise fields; POSO: new and active users click for different
// reasons). docs/synth.md describes the process.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace heed::synth {

struct Options {
  std::filesystem::path out;  // directory, created if missing
  std::size_t rows = 200000;  // total rows over train+valid+test
  std::uint64_t seed = 1;
  std::size_t max_history = 50;  // longest behaviour sequence written
};

// The AUC of the planted click probability itself: the best ranking any model can reach on
// these labels (labels are draws, so even the truth does not reach 1). NaN where a group has
// only one class.
struct PlantedAuc {
  double all = 0.0, active = 0.0, new_users = 0.0;
};

struct Summary {
  std::size_t train_rows, valid_rows, test_rows;
  double click_rate;
  PlantedAuc test_planted_auc;  // the planted probability's own AUC on the test split
};

// Writes out/train.tsv, out/valid.tsv, out/test.tsv and out/synth.json. The same options give
// byte-identical files. Throws heed::Error on bad options or when a file cannot be written.
Summary generate(const Options& options);

}  // namespace heed::synth
