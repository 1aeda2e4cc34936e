#pragma once
// Small generated click data with a planted signal, for end-to-end tests: the label depends
// mostly on the item (each item has its own click rate) and a little on the price, so a
// trained model reaches an AUC well above 0.5 within a couple of epochs.
//
//   label  user  item  genres (multi)  history (sequence of items)  price (dense)  count (log2)
#include <cmath>
#include <filesystem>
#include <string>

#include "core/rng.h"
#include "test_files.h"

namespace heed::testing {

struct SyntheticFiles {
  std::filesystem::path dir;
  std::filesystem::path train, test, unlabeled;  // unlabeled: test's rows without the label column
  std::filesystem::path config;                  // a run config reading them
};

inline std::string synthetic_rows(std::size_t rows, std::uint64_t seed, bool with_label) {
  Rng rng(seed);
  std::string text = with_label ? "label\tuser\titem\tgenres\thistory\tprice\tcount\n"
                                : "user\titem\tgenres\thistory\tprice\tcount\n";
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint64_t user = rng.below(150), item = rng.below(60);
    // Item i's click logit: spread over [-2.5, 2.5] by a fixed shuffle of the item ids.
    const double item_logit = -2.5 + 5.0 * static_cast<double>((item * 37) % 60) / 59.0;
    const double price = std::round(rng.uniform() * 1000.0) / 100.0;
    const double p = 1.0 / (1.0 + std::exp(-(item_logit + 0.1 * (price - 5.0))));
    const bool click = rng.bernoulli(p);
    // (Appending piece by piece: GCC 12 warns falsely about "literal" + std::string at -O3.)
    std::string genres = "g";
    genres += std::to_string(item % 7);
    if (item % 3 == 0) {
      genres += "|g";
      genres += std::to_string(item % 5 + 7);
    }
    std::string history;
    const std::uint64_t length = rng.below(6);
    for (std::uint64_t h = 0; h < length; ++h) {
      if (h) history += "|";
      history += std::to_string(rng.below(60));
    }
    if (with_label) text += click ? "1\t" : "0\t";
    std::string user_id = "u";
    user_id += std::to_string(user);
    for (const std::string& cell : {user_id, std::to_string(item), genres, history,
                                    r % 50 == 7 ? std::string() : std::to_string(price)}) {
      text += cell;
      text += "\t";
    }
    text += std::to_string(rng.below(300));
    text += "\n";
  }
  return text;
}

inline std::string synthetic_config_text(const std::filesystem::path& data_dir) {
  return "[data]\n"
         "dir = \"" +
         data_dir.string() +
         "\"\n"
         "train = \"train.tsv\"\n"
         "test = \"test.tsv\"\n"
         "valid_fraction = 0.2\n"
         "\n"
         "[features.user]\n"
         "[features.item]\n"
         "[features.genres]\nkind = \"multi\"\n"
         "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 4\n"
         "[features.price]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
         "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n"
         "\n"
         "[embedding]\ndim = 8\n"
         "[model]\nhidden = [16, 8]\ndropout = 0.1\n"
         "[optimizer]\nlr = 0.01\nembedding_lr = 0.03\n"
         "[train]\nepochs = 3\nbatch_size = 128\nthreads = 1\nprogress = \"none\"\npatience = 100\n"
         "[eval]\ngroup = \"user\"\nbatch_size = 300\n";
}

// Writes train (3000 rows), test (1000 rows), the unlabeled test rows and a config into `dir`.
inline SyntheticFiles write_synthetic_data(const std::filesystem::path& dir) {
  SyntheticFiles f;
  f.dir = dir;
  f.train = dir / "train.tsv";
  f.test = dir / "test.tsv";
  f.unlabeled = dir / "unlabeled.tsv";
  f.config = dir / "run.toml";
  write_file(f.train, synthetic_rows(3000, 11, true));
  write_file(f.test, synthetic_rows(1000, 12, true));
  write_file(f.unlabeled, synthetic_rows(1000, 12, false));
  write_file(f.config, synthetic_config_text(dir));
  return f;
}

}  // namespace heed::testing
