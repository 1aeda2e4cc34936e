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

// A multi or sequence feature's keys that arrive hashed, not as text: a DataFrame's lists are
// hashed while their strings are read (python/bindings/frame_table.h), column by column, into the
// feature's column of keys as a Dataset holds it, which load_table then takes whole; the row
// parser need not have them copied, split and hashed again. Every row's keys are here. The
// column's cell of a row is empty, or holds its text where the row parser must see it: in a row
// that it checks as a line (one not plain ASCII), or a cell that it rejects (longer than
// data.max_field_bytes); the text is then checked, never hashed again. The feature's definition
// the keys were made with is kept, and load_table checks it against the schema it reads with.
struct HashedColumn {
  std::size_t column = 0;  // the table's column, which no other column's name repeats
  std::string feature;     // the multi or sequence feature that reads it
  FeatureKind kind = FeatureKind::kMulti;
  std::uint64_t seed = 0;    // its table's seed
  std::string padding;       // its padding value
  char separator = '|';      // its separator, which no hashed value holds
  std::size_t max_len = 0;   // the values kept a row (0: all)
  KeyColumn keys;            // per row its values' keys (value_key.h), max_len kept
  ColumnVector<std::uint32_t> given;  // per row, the values it gave before max_len (DIN's alignment check)
};

struct TextTable {
  std::string name;                  // stands for the file name in messages ("train DataFrame")
  std::vector<std::string> columns;  // column names, as a header line would give them
  // Per column, one cell per row (views into memory the caller keeps alive while loading).
  std::vector<ColumnVector<std::string_view>> cells;
  std::size_t rows = 0;
  // True when the producer found every cell plain ASCII without NUL bytes (the usual table):
  // then a row that is read without its line needs no check of its text (load_table).
  bool plain_ascii = false;
  std::vector<HashedColumn> hashed;  // lists that came hashed (one entry per feature reading such a column)
};

// Whether reading a table under `config` may need its rows' lines: the validation carve by row
// hashes them where the split keys are read (LoadOptions::split_keys_read: the training split),
// and under data.on_error = "skip" a rejected row is logged as its line. A table made for such a
// read keeps every cell's text (no HashedColumn).
bool table_lines_read(const Config& config, bool split_keys_read);

// The table's rows, read as a TSV file with a header holding the same cells: whatever
// data.format says, the columns are the table's. Messages count rows from 1, as lines: row 1 is
// the table's first row. The rows' split keys, which only the validation carve by row reads,
// are left unset (all the same) when the config has no such carve, when scoring, and when the
// caller does not read them (LoadOptions::split_keys_read).
Dataset load_table(const TextTable& table, const Config& config, const Schema& schema, const LoadOptions& options = {});

// The same, taking the table's hashed keys into the Dataset instead of copying them: the table
// cannot be read again.
Dataset load_table(TextTable&& table, const Config& config, const Schema& schema, const LoadOptions& options = {});

}  // namespace heed
