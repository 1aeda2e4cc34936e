#pragma once
// One line -> its cells, grouped by column, for every layout (file_layout.h). A delimited line
// has one cell per column; a sparse line has, per field, the idx:val pairs that belong to it
// (none, one, or several). The loader reads features from cells whatever the format.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/field_splitter.h"
#include "data/file_layout.h"

namespace heed {

struct Cell {
  std::string_view key;    // delimited: the cell's text; sparse: the index (the label token for the label)
  std::string_view value;  // delimited: the same text; sparse: the number after the index
  std::uint32_t position;  // 1-based column (delimited) or token (sparse) in the line, for messages
};

struct RowCells {
  std::vector<Cell> cells;            // grouped by column
  std::vector<std::uint32_t> starts;  // column c's cells are cells[starts[c], starts[c + 1])

  std::size_t count(std::size_t column) const { return starts[column + 1] - starts[column]; }
  const Cell* begin(std::size_t column) const { return cells.data() + starts[column]; }
};

// What is wrong with a line that cannot be split: a reason for counting ("column_count",
// "quoting", "sparse_pair", ...), the 1-based column or token it starts at (0: the whole line),
// and the message.
struct LineProblem {
  std::string reason;
  std::uint32_t position = 0;
  std::string message;
};

class RowSplitter {
 public:
  // `columns`: how many columns the file has (for sparse formats: 1 + the number of fields).
  RowSplitter(const FileLayout& layout, std::size_t columns);

  // Splits `line` into `out` (views into `line` or into this splitter's scratch, valid until the
  // next call). False, with `problem` filled, when the line does not fit the layout.
  // `may_hold_quotes`: as FieldSplitter::split.
  bool split(std::string_view line, RowCells& out, LineProblem& problem, bool may_hold_quotes = true);

 private:
  bool split_delimited(std::string_view line, RowCells& out, LineProblem& problem, bool may_hold_quotes);
  bool split_sparse(std::string_view line, RowCells& out, LineProblem& problem);

  const FileLayout& layout_;
  std::size_t columns_;
  FieldSplitter fields_splitter_;
  std::vector<std::string_view> fields_;
  std::vector<Cell> unordered_;        // sparse pairs before grouping
  std::vector<std::uint32_t> column_of_;
  std::vector<std::uint32_t> next_slot_;
};

}  // namespace heed
