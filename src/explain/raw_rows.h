#pragma once
// The raw text of a data file's (or an in-memory table's) rows, for showing people what a model
// saw. A Dataset holds only hashed keys, so `heed explain` reads the few columns and rows it
// displays a second time. Rows are counted exactly as load_dataset counts them (after the
// header, blank lines skipped), so data row r here is row r of the Dataset.
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
#include "data/text_table.h"

namespace heed::explain {

// Rows as their text, one after the other, numbered as the Dataset read from them numbers them.
class RawRows {
 public:
  virtual ~RawRows() = default;
  // Positions of every column named `name`, in order (a multi or sequence feature may be spread
  // over several); throws heed::Error when there is none.
  virtual std::vector<std::size_t> columns(const std::string& name) const = 0;
  // Advances to the next data row; false after the last.
  virtual bool next() = 0;
  virtual std::size_t row() const = 0;      // data row, from 0
  virtual std::uint64_t line() const = 0;   // where messages say the row is (file line, table row), from 1
  // The column's text in the current row.
  virtual std::string_view value(std::size_t column) = 0;
  virtual const std::string& name() const = 0;  // the file's path or the table's name
};

class RawRowReader : public RawRows {
 public:
  // Opens `path` laid out as `config.data` says (file_layout.h: format, delimiter, header or
  // data.columns).
  RawRowReader(const std::filesystem::path& path, const Config& config);

  std::vector<std::size_t> columns(const std::string& name) const override;
  bool next() override;
  std::size_t row() const override { return row_; }
  std::uint64_t line() const override { return reader_.line_number(); }
  // For sparse formats the column's indices, joined by '|' when there are several.
  std::string_view value(std::size_t column) override;
  const std::string& name() const override { return reader_.path(); }

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

// A table in memory (a DataFrame's cells, text_table.h): its rows are the Dataset's rows.
class TableRows : public RawRows {
 public:
  explicit TableRows(const TextTable& table) : table_(table) {}

  std::vector<std::size_t> columns(const std::string& name) const override;
  bool next() override;
  std::size_t row() const override { return row_; }
  std::uint64_t line() const override { return row_ + 1; }
  std::string_view value(std::size_t column) override { return table_.cells[column][row_]; }
  const std::string& name() const override { return table_.name; }

 private:
  const TextTable& table_;
  std::size_t row_ = 0;
  bool started_ = false;
};

// The values of a multi or sequence feature's raw text, as the loader keys them: split on
// the separator, empty tokens and the padding value dropped, sequences keeping their most recent max_len values and
// multi features their first max_len.
std::vector<std::string> split_values(const FeatureInfo& feature, std::string_view text);

}  // namespace heed::explain
