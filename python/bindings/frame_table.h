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
// Columns X.1, X.2, ... beside a column X that a multi or sequence feature reads are renamed X
// (pandas.read_csv's names for a repeated column), so that the feature reads them all.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/huge_pages.h"
#include "data/text_table.h"

namespace heed::python {

struct ObjectColumn;

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
  // ("categorical", codes, categories) (the Python side unwraps extension dtypes).
  FrameTable(const Config& config, std::string name, std::vector<std::string> columns, const pybind11::list& arrays);

  const TextTable& table() const { return table_; }

 private:
  void add_column(std::size_t c, const pybind11::handle& array);
  void add_objects(std::size_t c, const pybind11::array& array, ColumnVector<std::string_view>& out);
  // A column that multi or sequence features read: lists of strings joined in the arena.
  void add_lists(std::size_t c, const ObjectColumn& column, ColumnVector<std::string_view>& out);
  // A list's values (list, tuple or array), checked: no list inside, no value holding the separator.
  void list_values(std::size_t c, std::size_t row, PyObject* value, std::vector<std::string_view>& out);
  static bool is_list(PyObject* value);
  std::string_view object_text(std::size_t c, std::size_t row, PyObject* value);
  // `text`, noting in plain_ whether it is plain ASCII without NUL bytes.
  std::string_view noted(std::string_view text);

  TextTable table_;
  std::vector<std::string> separators_;  // per column: the separator its list features split on ("" none)
  std::vector<std::string> list_reader_;  // per column: a feature that reads it and takes no list (for messages)
  CellArena arena_;
  bool plain_ = true;  // every cell so far plain ASCII without NUL bytes (TextTable::plain_ascii)
  std::vector<pybind11::object> owners_;  // what was read (an array's list of items), kept while the table lives
  pybind11::object na_;                   // pandas.NA
  std::string joined_;  // a list's values joined
  std::vector<std::string_view> scratch_;  // a list's values
};

// Python's repr of a double (what pandas writes for a float cell), shortest round trip.
std::string python_float_text(double value);
std::string python_float_text(float value);

}  // namespace heed::python
