#pragma once
// `heed synth --world shop`: writes the shop world's next-item task (train.tsv, valid.tsv,
// test.tsv, synth.json) and reports the ceiling its planted probability reaches.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace heed::synth {

struct ShopOptions {
  std::filesystem::path out;       // directory, created if missing
  std::size_t events = 40000;      // events of the log, about (users = events / 50)
  std::uint64_t seed = 1;
  std::size_t max_history = 50;    // longest history written
};

struct ShopSummary {
  std::size_t users = 0, items_seen = 0, categories_seen = 0, events = 0;
  std::size_t train_rows = 0, valid_rows = 0, test_rows = 0;
  double valid_planted_auc = 0.0, test_planted_auc = 0.0;
};

// The same options give byte-identical files. Throws heed::Error on bad options or when a file
// cannot be written.
ShopSummary generate_shop(const ShopOptions& options);

}  // namespace heed::synth
