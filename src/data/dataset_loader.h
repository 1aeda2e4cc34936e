#pragma once
// Reads data files (TSV, CSV, libSVM/libFM, libFFM or the Criteo layout; plain, gzip or zstd)
// into a Dataset: finds the configured columns, parses labels and numbers, and hashes every
// value with its table's seed (RowEncoder, shared with the server). A malformed row is a
// ParseError naming file, line, byte offset and column, handled as data.on_error says
// (bad_rows.h): the run stops, or the row is skipped, counted and written to a side file.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/dataset.h"
#include "data/file_share.h"
#include "data/line_reader.h"
#include "data/row_encoder.h"

namespace heed {

// What reading skipped, under data.on_error = "skip".
struct LoadReport {
  std::uint64_t rows = 0;     // data rows read, kept or skipped
  std::uint64_t skipped = 0;
  std::map<std::string, std::uint64_t> by_reason;
  std::filesystem::path rejects;  // the rejected-lines file (written only when something was skipped)
};

struct LoadOptions {
  bool require_label = true;  // prediction files may omit the label column
  bool features_only = false; // scoring: the eval.group, eval.slice and data.valid_by columns may be absent
  // Where rejected lines go under skip: data.rejects_dir, else this folder, else the current one.
  std::filesystem::path rejects_dir;
  std::string rejects_name = "rejected_rows.txt";
  LoadReport* report = nullptr;  // filled when given
  // Every bad row stops reading whatever data.on_error says: for outputs that must keep one
  // line per input row (predict) and request bodies (serve).
  bool never_skip = false;
  // Whether the caller reads the rows' split keys: only the training split's, where the
  // validation carve by row hashes each row's line. Where nobody reads them, a table's rows are
  // not built as lines for them (text_table.h).
  bool split_keys_read = true;
  // Several readers sharing the files (file_share.h): this one reads only its part's rows.
  ReadShare share;
};

// The rejected-lines file of a load: data.rejects_dir, else options.rejects_dir, else the
// current folder, and options.rejects_name.
std::filesystem::path rejects_path(const Config& config, const LoadOptions& options);
// How the loader opens files: data.max_line_bytes, damage reported as bad rows, and for CSV
// records whose quoted fields may hold line breaks (file_layout.h decides the quoting).
LineReader::Options line_reader_options(const DataConfig& data);

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options = {});
// Several files read one after the other into one Dataset (each with its own header, if any).
Dataset load_dataset(const std::vector<std::filesystem::path>& paths, const Config& config, const Schema& schema,
                     const LoadOptions& options = {});
// The same from an open reader (a file, or text in memory such as a request body).
Dataset load_dataset(LineReader& reader, const Config& config, const Schema& schema, const LoadOptions& options = {});

}  // namespace heed
