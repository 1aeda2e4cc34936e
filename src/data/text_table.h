#pragma once
// Rows that are already in memory as columns of text cells (a pandas DataFrame, handed over by
// the Python module): read exactly as a delimited file with these columns would be, through the
// same row parser (load_table in dataset_loader.h), without writing one. A row reads as the
// TSV line its cells make joined by tabs: the same labels, keys, checks and validation carve.
//
// A column may hold lists instead of cells (a DataFrame's list values, for multi-valued and
// sequence features): a row's cell is its values joined by the column's separator. The
// features that split the column on that separator take the values as they are, so nothing is
// joined to be split again; anything else that reads the column reads the joined cell.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset_loader.h"

namespace heed {

// One column's rows as lists of values. No value holds the separator (the one who fills it
// checks), so joining a row's values and splitting them again gives them back, empty values
// included (the encoder drops those, as it drops empty tokens).
struct ListColumn {
  bool given = false;  // false: the column is in TextTable::cells
  char separator = '|';
  std::vector<std::string_view> values;  // every row's values, row after row
  std::vector<std::size_t> ends;         // per row, one past its last value in `values`

  std::size_t begin(std::size_t row) const { return row == 0 ? 0 : ends[row - 1]; }
  std::size_t count(std::size_t row) const { return ends[row] - begin(row); }
  const std::string_view* first(std::size_t row) const { return values.data() + begin(row); }
  // The row's values joined by the separator, appended to `out`; returns the bytes appended.
  std::size_t append_joined(std::size_t row, std::string& out) const;
};

struct TextTable {
  std::string name;                  // stands for the file name in messages ("train DataFrame")
  std::vector<std::string> columns;  // column names, as a header line would give them
  // Per column, one cell per row (views into memory the caller keeps alive while loading); a
  // column given in `lists` leaves its cells empty.
  std::vector<std::vector<std::string_view>> cells;
  // Per column (or none at all): the columns given as lists.
  std::vector<ListColumn> lists;
  std::size_t rows = 0;

  bool is_list(std::size_t column) const { return column < lists.size() && lists[column].given; }
  // Column `column`'s cell in row `row` as text: a list's values joined in `scratch`.
  std::string_view cell(std::size_t column, std::size_t row, std::string& scratch) const;
};

// The table's rows, read as a TSV file with a header holding the same cells: whatever
// data.format says, the columns are the table's. Messages count rows from 1, as lines: row 1 is
// the table's first row. The rows' split keys, which only the validation carve by row reads,
// are left unset (all the same) when the config has no such carve, and when scoring.
Dataset load_table(const TextTable& table, const Config& config, const Schema& schema, const LoadOptions& options = {});

}  // namespace heed
