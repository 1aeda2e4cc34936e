#pragma once
// Reads a TSV/CSV file (plain or gzip) into a Dataset: finds the configured columns, parses
// labels and numbers, and hashes every value with its table's seed (RowEncoder, shared with the
// server). Any malformed row is an error naming file, line, byte offset and column.
#include <filesystem>

#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"
#include "data/line_reader.h"
#include "data/row_encoder.h"

namespace heed {

struct LoadOptions {
  bool require_label = true;  // prediction files may omit the label column
  bool features_only = false; // scoring: the eval.group, eval.slice and data.valid_by columns may be absent
};

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options = {});
// The same from an open reader (a file, or text in memory such as a request body).
Dataset load_dataset(LineReader& reader, const Config& config, const Schema& schema, const LoadOptions& options = {});

}  // namespace heed
