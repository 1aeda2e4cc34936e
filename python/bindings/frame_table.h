#pragma once
// A pandas DataFrame's columns -> a TextTable (data/text_table.h): every cell as the text that
// `df.to_csv(sep="\t", index=False)` would write for it, so a DataFrame reads exactly as the
// TSV it would be written to. Lists (multi-valued and sequence fields) join with the separator
// of the features that read the column. Every cell is copied into the table's own memory,
// column after column: the row parser then reads a row's cells from a few places in order,
// where the Python strings lie scattered over the heap (a cache miss each, which cost more
// than the copy; docs/python.md "Speed").
//
//   integers          decimal digits
//   floats            Python's repr (0.5, 1e-05, 3.0); NaN is an empty cell
//   booleans          True / False
//   objects           str as is; None, NaN and pd.NA empty; numbers as above; list, tuple or
//                     ndarray values joined by the column's separator; anything else str(x)
//   categorical       the category's text (codes -1 empty)
//
// The columns that multi or sequence features read are not kept as text: each row's values are
// hashed as they are read into the feature's HashedColumn (data/text_table.h), the keys its
// Dataset column will hold, which the read then takes whole. Lists of plain ASCII strings are
// hashed straight from the strings; any other value (a list of other values, a tuple, an
// array, a joined cell, a missing one) from its text as above, split by the separator as the
// row parser splits a cell. The row's cell is left empty, or keeps the text where the row
// parser must check it: a row not plain ASCII (checked as a line: a NUL byte is an error, and
// messages count bytes along the whole line, so its other lists are joined too) and a cell
// longer than data.max_field_bytes. Where the rows may be read as lines (table_lines_read: the
// training split under a validation carve by row, or data.on_error = "skip"), and for explain,
// every list is joined as text instead.
//
// Columns X.1, X.2, ... beside a column X that a multi or sequence feature reads are renamed X
// (pandas.read_csv's names for a repeated column), so that the feature reads them all.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "core/huge_pages.h"
#include "data/text_table.h"

namespace heed::python {

// A numpy object array's buffer: the object of each row.
struct ObjectColumn {
  const char* base;
  pybind11::ssize_t stride;
  std::size_t rows;
  PyObject* operator[](std::size_t r) const {
    return *reinterpret_cast<PyObject* const*>(base + static_cast<pybind11::ssize_t>(r) * stride);
  }
};
class ValuesAhead;

// The table's cells: copied text, formatted numbers and joined lists.
class CellArena {
 public:
  std::string_view keep(std::string_view text);
  // Room for `size` bytes the caller writes.
  char* allocate(std::size_t size);

 private:
  // 2 MiB blocks, each on one huge page where the kernel gives them (allocate_maybe_huge:
  // fewer page faults and TLB misses over the table's text).
  static constexpr std::size_t kBlock = 2u << 20;
  struct Release {
    std::size_t bytes;
    void operator()(char* p) const { release_maybe_huge(p, bytes); }
  };
  std::deque<std::unique_ptr<char[], Release>> blocks_;
  std::size_t used_ = kBlock;
};

class FrameTable {
 public:
  // `columns`: the DataFrame's column names; `arrays`: per column a 1-D numpy array, or a tuple
  // ("categorical", codes, categories) (the Python side unwraps extension dtypes). `hash_lists`:
  // false keeps every list's text (heed explain shows a row's values as its cells hold them).
  // `split_keys_read`: the read takes the rows' split keys (LoadOptions: training's own split).
  FrameTable(const Config& config, std::string name, std::vector<std::string> columns, const pybind11::list& arrays,
             bool hash_lists = true, bool split_keys_read = true);

  const TextTable& table() const { return table_; }
  // The rows read into a Dataset (load_table), once where lists came hashed: their keys move
  // into it, and a second read is refused (the Python side makes a table for each read).
  Dataset read(const Config& config, const Schema& schema, const LoadOptions& options);

 private:
  void add_column(std::size_t c, const pybind11::handle& array);
  // `table_rows`: the array holds the column's rows (not a categorical column's categories).
  void add_objects(std::size_t c, const pybind11::array& array, ColumnVector<std::string_view>& out,
                   bool table_rows = true);
  // A column that multi or sequence features read: lists of strings hashed (`hashing`: the
  // column's HashedColumns, empty where its cells keep their text) or joined in the arena.
  void add_lists(std::size_t c, const ObjectColumn& column, ColumnVector<std::string_view>& out,
                 const std::vector<HashedColumn*>& hashing);
  const FeatureInfo& feature_of(const HashedColumn* h) const;
  // A value of a hashed column that is not a list of plain strings: its text (as a file's cell
  // would hold it) hashed into each of `hashing`'s keys; the cell the row keeps (HashedColumn).
  std::string_view hashed_text(std::size_t c, std::size_t row, PyObject* value,
                               const std::vector<HashedColumn*>& hashing);
  // A list's `n` values into each of `hashing`'s keys (`ahead`, if any, asks for the values'
  // memory ahead); false, keeping nothing, where it must be read as text: a value that is not a
  // compact ASCII string, holds the separator or a NUL byte, or the joined cell is too long.
  bool hash_list(PyObject* const* items, std::size_t n, char separator, const std::vector<HashedColumn*>& hashing,
                 ValuesAhead* ahead);
  // A list's values (list, tuple or array), checked: no list inside, no value holding the separator.
  void list_values(std::size_t c, std::size_t row, PyObject* value, std::vector<std::string_view>& out);
  static bool is_list(PyObject* value);
  std::string_view object_text(std::size_t c, std::size_t row, PyObject* value);
  // Rows holding a cell that is not plain ASCII get their hashed lists' text (see above).
  void join_hashed_lists_of_rows_not_plain();
  // `text`, noting in plain_ whether it is plain ASCII without NUL bytes.
  std::string_view noted(std::string_view text);

  TextTable table_;
  Schema schema_;
  std::size_t max_field_bytes_ = 0;
  // Per table.hashed entry, the schema feature it hashes for.
  std::vector<const FeatureInfo*> hashed_features_;
  std::vector<std::string> separators_;  // per column: the separator its list features split on ("" none)
  std::vector<std::string> list_reader_;  // per column: a feature that reads it and takes no list (for messages)
  CellArena arena_;
  bool read_ = false;  // hashed keys moved out by read()
  bool plain_ = true;  // every cell so far plain ASCII without NUL bytes (TextTable::plain_ascii)
  // Per column whose lists came hashed, its objects (kept alive by owners_), to join again.
  std::vector<std::optional<ObjectColumn>> hashed_objects_;
  std::vector<pybind11::object> owners_;  // what was read (an array's list of items), kept while the table lives
  pybind11::object na_;                   // pandas.NA
  std::string joined_;  // a list's values joined
  std::vector<std::string_view> scratch_;  // a list's values
};

// Python's repr of a double (what pandas writes for a float cell), shortest round trip.
std::string python_float_text(double value);
std::string python_float_text(float value);

}  // namespace heed::python
