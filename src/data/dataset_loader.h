#pragma once
// Reads a TSV/CSV file (plain or gzip) into a Dataset: finds the configured columns, parses
// labels and numbers, and hashes every value with its table's seed. Any malformed row is an
// error naming file, line, byte offset and column.
#include <filesystem>

#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"

namespace heed {

struct LoadOptions {
  bool require_label = true;  // prediction files may omit the label column
};

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options = {});

// Bucket id of a numeric value under a feature's bucketizer (log2: floor(log2 x) + 2 for
// x >= 1, the integer part below that; boundaries: index of the first edge above x).
std::int64_t numeric_bucket(const FeatureInfo& feature, double value);

}  // namespace heed
