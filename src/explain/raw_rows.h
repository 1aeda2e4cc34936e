#pragma once
// The raw text of a data file's rows, for showing people what a model saw. A Dataset holds
// only hashed keys, so `heed explain` reads the few columns and rows it displays a second time.
// Rows are counted exactly as load_dataset counts them (after the header, blank lines skipped),
// so data row r here is row r of the Dataset.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/file_layout.h"
#include "data/row_cells.h"
#include "data/line_reader.h"

namespace heed::explain {

class RawRowReader {
 public:
  // Opens `path` laid out as `config.data` says (file_layout.h: format, delimiter, header or
  // data.columns).
  RawRowReader(const std::filesystem::path& path, const Config& config);

  // Position of the column named `name`; throws heed::Error when the file has none.
  std::size_t column(const std::string& name) const;
  // Advances to the next data row; false at the end of the file.
  bool next();
  std::size_t row() const { return row_; }                      // data row, from 0
  std::uint64_t line() const { return reader_.line_number(); }  // line in the file, from 1
  // The column's text; for sparse formats its indices, joined by '|' when there are several.
  std::string_view value(std::size_t column);

 private:
  FileLayout layout_;
  LineReader reader_;
  std::vector<std::string> names_;
  std::unique_ptr<RowSplitter> splitter_;
  RowCells cells_;
  std::string joined_;
  std::size_t row_ = 0;
  bool started_ = false;
};

// The values of a multi or sequence feature's raw text, as the loader keys them: split on
// the separator, empty tokens dropped, sequences keeping their most recent max_len values and
// multi features their first max_len.
std::vector<std::string> split_values(const FeatureInfo& feature, std::string_view text);

}  // namespace heed::explain
