#pragma once
// Rows that are already in memory as columns of text cells (a pandas DataFrame, handed over by
// the Python module): read exactly as a delimited file with these columns would be, through the
// same row parser (load_table in dataset_loader.h), without writing one. A row reads as the
// TSV line its cells make joined by tabs: the same labels, keys, checks and validation carve.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/huge_pages.h"
#include "data/dataset_loader.h"

namespace heed {

struct TextTable {
  std::string name;                  // stands for the file name in messages ("train DataFrame")
  std::vector<std::string> columns;  // column names, as a header line would give them
  // Per column, one cell per row (views into memory the caller keeps alive while loading).
  std::vector<ColumnVector<std::string_view>> cells;
  std::size_t rows = 0;
  // True when the producer found every cell plain ASCII without NUL bytes (the usual table):
  // then a row that is read without its line needs no check of its text (load_table).
  bool plain_ascii = false;
};

// The table's rows, read as a TSV file with a header holding the same cells: whatever
// data.format says, the columns are the table's. Messages count rows from 1, as lines: row 1 is
// the table's first row. The rows' split keys, which only the validation carve by row reads,
// are left unset (all the same) when the config has no such carve, and when scoring.
Dataset load_table(const TextTable& table, const Config& config, const Schema& schema, const LoadOptions& options = {});

}  // namespace heed
