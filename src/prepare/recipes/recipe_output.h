#pragma once
// What every recipe writes: heed's TSV files (a header line, then one row per example) and a
// prepare.json describing them. A TSV is written to `<name>.partial` and renamed when complete,
// so a failed run never leaves a half-written file under the final name.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace heed::recipes {

// One output column: its header name and the line prepare.json says about it.
struct Column {
  std::string_view name;
  std::string_view description;
};

// Rows and positive labels written to one TSV.
struct TsvStats {
  std::size_t rows = 0;
  std::size_t positives = 0;
};

// What a recipe wrote; rows per split file (0 for a file it did not write).
struct PrepareSummary {
  std::size_t train_rows = 0;
  std::size_t valid_rows = 0;
  std::size_t test_rows = 0;
  std::vector<std::string> files;  // paths written: the TSVs, then prepare.json
  std::vector<std::string> notes;  // lines for the user: a split that could not be written and what to do, bad lines skipped
};

class TsvWriter {
 public:
  TsvWriter(std::filesystem::path path, std::span<const Column> columns);
  ~TsvWriter();  // removes the partial file when finish() was not reached (an error on the way)
  TsvWriter(const TsvWriter&) = delete;
  TsvWriter& operator=(const TsvWriter&) = delete;

  // The cells of one row, in column order; the caller guarantees they hold no TAB or newline.
  void cell(std::string_view text) {
    if (cells_ > 0) buffer_ += '\t';
    buffer_ += text;
    ++cells_;
  }
  // The cell as it is being built, for appending pieces without a temporary string.
  std::string& open_cell() {
    if (cells_ > 0) buffer_ += '\t';
    ++cells_;
    return buffer_;
  }
  void end_row(bool positive);

  // Flushes, closes and renames the file into place.
  TsvStats finish();
  const std::filesystem::path& path() const { return path_; }

 private:
  void flush();

  std::filesystem::path path_;
  std::filesystem::path partial_;
  std::size_t column_count_;
  std::ofstream out_;
  std::string buffer_;
  std::size_t cells_ = 0;
  TsvStats stats_;
  bool finished_ = false;
};

// The user_activity bucket of a user with `earlier` actions before this one: 0, 1-4, 5-19,
// 20-49, 50-99, 100-199, 200+. Log-like steps: the first actions tell most about a new user,
// later ones change little. The natural field for a POSO gate.
std::string_view activity_bucket(std::size_t earlier);

// Creates `out` (and parents) or throws heed::Error naming it.
void create_output_folder(const std::filesystem::path& out);

// {"rows": n, "positive_rate": p} for prepare.json.
nlohmann::ordered_json describe_file(const TsvStats& stats);
// [{"name": ..., "description": ...}, ...] for prepare.json.
nlohmann::ordered_json describe_columns(std::span<const Column> columns);

// Writes `json` (indented) to out/prepare.json and returns its path.
std::filesystem::path write_prepare_json(const std::filesystem::path& out,
                                         const nlohmann::ordered_json& json);

}  // namespace heed::recipes
