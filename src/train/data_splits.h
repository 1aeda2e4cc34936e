#pragma once
// The train / validation / test datasets of a run, read from the configured files. Without a
// validation file, data.valid_fraction of the training rows is held out by a stable hash (of
// the data.valid_by column, or of the whole line), so the same rows are held out every run.
#include <filesystem>
#include <string>

#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"

namespace heed {

struct Splits {
  Dataset train, valid, test;
  std::string valid_source;  // a file name, or how valid was carved; empty: no validation
  bool has_test = false;
};

std::filesystem::path data_file(const Config& config, const std::string& name);

Splits load_splits(const Config& config, const Schema& schema);

}  // namespace heed
