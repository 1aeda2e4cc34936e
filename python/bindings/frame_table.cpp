#include "frame_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

#include "config/schema.h"
#include "core/error.h"
#include "data/utf8.h"
#include "data/value_key.h"

namespace py = pybind11;

namespace heed::python {

namespace {

// Digits and exponent of a shortest round-trip scientific form ("-1.25e-05"), laid out as
// Python's repr does: positional for exponents -4..15, else d.ddde+XX.
std::string repr_from_scientific(std::string_view sci) {
  std::string out;
  std::size_t i = 0;
  if (sci[0] == '-') out.push_back('-'), i = 1;
  const std::size_t e = sci.find('e');
  std::string digits;
  for (std::size_t k = i; k < e; ++k)
    if (sci[k] != '.') digits.push_back(sci[k]);
  int exponent = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exponent);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    } else if (static_cast<std::size_t>(exponent) + 1 >= digits.size()) {
      out += digits;
      out.append(static_cast<std::size_t>(exponent) + 1 - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(exponent) + 1);
      out += '.';
      out += digits.substr(static_cast<std::size_t>(exponent) + 1);
    }
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) out += '.' + digits.substr(1);
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

template <class Float>
std::string float_text(Float value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
  return repr_from_scientific(std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
}

// A short string's bytes without a call to memcpy (list values are mostly a few bytes).
inline void copy_short(char* to, const char* from, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, from, 8), std::memcpy(&b, from + n - 8, 8);
    std::memcpy(to, &a, 8), std::memcpy(to + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    std::uint32_t a, b;
    std::memcpy(&a, from, 4), std::memcpy(&b, from + n - 4, 4);
    std::memcpy(to, &a, 4), std::memcpy(to + n - 4, &b, 4);
  } else if (n > 0 && n < 4) {
    to[0] = from[0], to[n / 2] = from[n / 2], to[n - 1] = from[n - 1];
  } else if (n > 16) {
    std::memcpy(to, from, n);
  }
}

// Whether any byte of `word` is zero.
[[gnu::always_inline]] inline bool any_zero_byte(std::uint64_t word) {
  return ((word - 0x0101010101010101u) & ~word & 0x8080808080808080u) != 0;
}

// Whether a value holds `byte` or a NUL byte (which a hashed list may not: the one would split
// the value in a file's cell, the other makes the row one the row parser rejects). Values are
// mostly a few bytes: each is read as one or two words of its own bytes (some read twice).
[[gnu::always_inline]] inline bool holds_byte_or_nul(const char* text, std::size_t n, char byte) {
  const std::uint64_t spread = 0x0101010101010101u * static_cast<unsigned char>(byte);
  auto bad = [&](std::uint64_t word) { return any_zero_byte(word) || any_zero_byte(word ^ spread); };
  if (n >= 8) {
    std::uint64_t word;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&word, text + i, 8);
      if (bad(word)) return true;
    }
    std::memcpy(&word, text + n - 8, 8);
    return bad(word);
  }
  if (n >= 4) {
    std::uint32_t low, high;
    std::memcpy(&low, text, 4), std::memcpy(&high, text + n - 4, 4);
    return bad(low | static_cast<std::uint64_t>(high) << 32);
  }
  if (n == 0) return false;
  const std::uint64_t a = static_cast<unsigned char>(text[0]), b = static_cast<unsigned char>(text[n / 2]),
                      c = static_cast<unsigned char>(text[n - 1]);
  const std::uint64_t word = a | b << 8 | c << 16 | c << 24;
  return bad(word | word << 32);
}

}  // namespace

// Asks for the memory of a list column's values some values before they are read. Python's
// strings lie scattered over the heap and each first read of one waits on memory; asked for
// ahead, these waits overlap. It walks the same values as the reader, kDistance ahead, and
// asks for the list objects and item arrays of the rows it is about to enter further ahead.
class ValuesAhead {
 public:
  static constexpr std::size_t kDistance = 16;  // values
  static constexpr std::size_t kListsAhead = 8;  // rows: a list's object; half as far, its items

  // From row `first` on, kDistance values ahead of the reader once primed.
  ValuesAhead(const ObjectColumn& column, std::size_t first) : column_(column) {
    for (std::size_t r = first; r < std::min(first + kListsAhead, column.rows); ++r) prefetch_object(column_[r]);
    if (first < column.rows) enter(first);
    for (std::size_t k = 0; k < kDistance; ++k) step();
  }

  void step() {
    while (item_ >= size_) {
      if (row_ + 1 >= column_.rows) return;
      enter(row_ + 1);
    }
    // A compact ASCII string: its header, then its state, length and text on the next line.
    const char* text = reinterpret_cast<const char*>(items_[item_++]);
    __builtin_prefetch(text);
    __builtin_prefetch(text + 48);
  }

 private:
  static void prefetch_object(PyObject* o) {
    __builtin_prefetch(o);
    __builtin_prefetch(reinterpret_cast<const char*>(o) + 32);
  }

  void enter(std::size_t row) {
    row_ = row;
    item_ = 0;
    size_ = 0;
    if (row + kListsAhead < column_.rows) prefetch_object(column_[row + kListsAhead]);
    if (row + kListsAhead / 2 < column_.rows) {
      PyObject* later = column_[row + kListsAhead / 2];
      if (PyList_CheckExact(later)) __builtin_prefetch(PySequence_Fast_ITEMS(later));
    }
    PyObject* value = column_[row];
    if (PyList_CheckExact(value)) {
      items_ = PySequence_Fast_ITEMS(value);
      size_ = static_cast<std::size_t>(PyList_GET_SIZE(value));
    }
  }

  const ObjectColumn& column_;
  std::size_t row_ = 0;
  std::size_t item_ = 0;
  std::size_t size_ = 0;
  PyObject* const* items_ = nullptr;
};

namespace {

// Whether a list column's rows lie in memory in the order they are read, block by block of
// rows. Lists built one after another (str.split over a column, read_csv's parsers) leave each
// row's strings just after the last row's; the hardware's prefetcher streams those, and asking
// ahead only costs instructions (the bench's list columns: 0.076-0.079 s against 0.082-0.088 s
// asking ahead throughout). After a shuffle or a sort each row's strings lie elsewhere, and
// asking ahead saves more than half the time (0.151 s against 0.355-0.458 s).
class ReadOrder {
 public:
  static constexpr std::size_t kBlockRows = 64;

  // A row's strings, from its first to its last.
  void row(const PyObject* first, const PyObject* last) {
    const auto at = reinterpret_cast<std::uintptr_t>(first);
    near_ += at - last_ < kNear;  // unsigned: only a string shortly after the last row's
    last_ = reinterpret_cast<std::uintptr_t>(last);
    ++rows_;
  }
  // At the end of a block: whether most of its rows followed the one before.
  bool block_in_order() {
    const bool in_order = rows_ > 0 && near_ * 4 >= rows_ * 3;
    near_ = rows_ = 0;
    return in_order;
  }

 private:
  static constexpr std::uintptr_t kNear = 256;  // bytes: a few strings' objects
  std::uintptr_t last_ = 0;
  std::size_t near_ = 0, rows_ = 0;
};

}  // namespace

std::string python_float_text(double value) { return float_text(value); }
std::string python_float_text(float value) { return float_text(value); }

char* CellArena::allocate(std::size_t size) {
  // Not zeroed: every byte is written by the caller.
  if (size > kBlock) {  // a cell of its own
    blocks_.emplace_front(static_cast<char*>(allocate_maybe_huge(size)), Release{size});
    return blocks_.front().get();
  }
  if (used_ + size > kBlock) {
    blocks_.emplace_back(static_cast<char*>(allocate_maybe_huge(kBlock)), Release{kBlock});
    used_ = 0;
  }
  char* at = blocks_.back().get() + used_;
  used_ += size;
  return at;
}

std::string_view CellArena::keep(std::string_view text) {
  if (text.empty()) return {};
  char* at = allocate(text.size());
  std::memcpy(at, text.data(), text.size());
  return {at, text.size()};
}

FrameTable::FrameTable(const Config& config, std::string name, std::vector<std::string> columns, const py::list& arrays,
                       bool hash_lists, bool split_keys_read) {
  HEED_CHECK(columns.size() == arrays.size(), "{}: {} column names for {} columns", name, columns.size(), arrays.size());
  table_.name = std::move(name);
  table_.columns = std::move(columns);
  table_.cells.resize(table_.columns.size());
  separators_.resize(table_.columns.size());
  list_reader_.resize(table_.columns.size());
  schema_ = Schema::from_config(config);
  const Schema& schema = schema_;
  max_field_bytes_ = static_cast<std::size_t>(std::max<std::int64_t>(config.data.max_field_bytes, 0));
  // pandas.read_csv renames a repeated column X to X.1, X.2, ...: for a multi or sequence
  // feature those are the columns of its name (a history spread one value per column), read
  // as the file's repeated header reads them.
  for (const FeatureInfo& f : schema.features) {
    if (!f.has_values() || std::find(table_.columns.begin(), table_.columns.end(), f.column) == table_.columns.end())
      continue;
    for (std::size_t k = 1;; ++k) {
      const auto it = std::find(table_.columns.begin(), table_.columns.end(), fmt::format("{}.{}", f.column, k));
      if (it == table_.columns.end()) break;
      *it = f.column;
    }
  }
  for (std::size_t c = 0; c < table_.columns.size(); ++c)
    for (const FeatureInfo& f : schema.features) {
      if (f.column != table_.columns[c]) continue;
      if (f.has_values())
        separators_[c] = std::string(1, f.separator);
      else
        list_reader_[c] = f.name;
    }
  // The lists to hash as they are read: every multi or sequence feature's column, unless a
  // column name repeats (a feature spread over columns reads its cells as text) or the rows may
  // be read as lines.
  bool names_repeat = false;
  for (std::size_t c = 0; c < table_.columns.size(); ++c)
    names_repeat |= std::count(table_.columns.begin(), table_.columns.end(), table_.columns[c]) > 1;
  if (hash_lists && !names_repeat && !table_lines_read(config, split_keys_read))
    for (std::size_t c = 0; c < table_.columns.size(); ++c)
      for (const FeatureInfo& f : schema.features)
        if (f.has_values() && f.column == table_.columns[c]) {
          table_.hashed.push_back(HashedColumn{c, f.name, f.kind, schema.tables[static_cast<std::size_t>(f.table)].seed,
                                               f.padding, f.separator, f.max_len, {}, {}});
          hashed_features_.push_back(&f);
        }
  na_ = py::module_::import("pandas").attr("NA");
  table_.rows = arrays.empty() ? 0 : static_cast<std::size_t>(py::len(arrays[0]));
  hashed_objects_.resize(table_.columns.size());
  for (std::size_t c = 0; c < table_.columns.size(); ++c) add_column(c, arrays[c]);
  // A column that held no objects (numbers, categories) kept its text: nothing came hashed.
  std::erase_if(table_.hashed, [&](const HashedColumn& h) { return h.given.size() != table_.rows; });
  hashed_features_.clear();
  if (!plain_ && !table_.hashed.empty()) join_hashed_lists_of_rows_not_plain();
  table_.plain_ascii = plain_;
}

Dataset FrameTable::read(const Config& config, const Schema& schema, const LoadOptions& options) {
  if (table_.hashed.empty()) return load_table(table_, config, schema, options);
  if (read_)
    throw Error(fmt::format("{}: read already, and its lists' keys went with it; pass the DataFrame again",
                            table_.name));
  read_ = true;
  return load_table(std::move(table_), config, schema, options);
}

void FrameTable::join_hashed_lists_of_rows_not_plain() {
  std::vector<bool> joined(table_.columns.size(), false);
  for (const HashedColumn& h : table_.hashed) joined[h.column] = true;
  for (std::size_t r = 0; r < table_.rows; ++r) {
    bool plain = true;
    for (std::size_t c = 0; c < table_.columns.size() && plain; ++c) plain = is_plain_ascii(table_.cells[c][r]);
    if (plain) continue;
    for (std::size_t c = 0; c < table_.columns.size(); ++c)
      if (joined[c] && hashed_objects_[c] && table_.cells[c][r].empty())
        table_.cells[c][r] = object_text(c, r, (*hashed_objects_[c])[r]);
  }
}

std::string_view FrameTable::noted(std::string_view text) {
  unsigned char any = 0, lowest = 0xFF;
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    any |= b;
    lowest = std::min(lowest, b);
  }
  if ((any & 0x80) != 0 || lowest == 0) plain_ = false;
  return text;
}

void FrameTable::add_column(std::size_t c, const py::handle& column) {
  ColumnVector<std::string_view>& out = table_.cells[c];
  if (py::isinstance<py::tuple>(column)) {  // ("categorical", codes, categories)
    const auto parts = column.cast<py::tuple>();
    const py::array_t<std::int64_t, py::array::forcecast> codes(parts[1]);
    // The categories' own texts (an object array), then one view per row.
    ColumnVector<std::string_view> texts;
    add_objects(c, parts[2].cast<py::array>(), texts, false);
    const auto r = codes.unchecked<1>();
    HEED_CHECK(static_cast<std::size_t>(r.shape(0)) == table_.rows, "{}: column '{}' has {} rows, not {}",
               table_.name, table_.columns[c], r.shape(0), table_.rows);
    out.reserve(table_.rows);
    for (py::ssize_t i = 0; i < r.shape(0); ++i) {
      const std::int64_t code = r(i);
      out.push_back(code < 0 ? std::string_view() : texts.at(static_cast<std::size_t>(code)));
    }
    return;
  }
  const py::array array = py::reinterpret_borrow<py::array>(column);
  HEED_CHECK(array.ndim() == 1 && static_cast<std::size_t>(array.shape(0)) == table_.rows,
             "{}: column '{}' is not one value per row", table_.name, table_.columns[c]);
  out.clear();
  out.reserve(table_.rows);
  const char kind = array.dtype().kind();
  char buffer[32];
  auto integers = [&](auto tag) {
    using T = decltype(tag);
    const auto a = py::array_t<T, py::array::forcecast>(array);
    const auto r = a.template unchecked<1>();
    for (py::ssize_t i = 0; i < r.shape(0); ++i) {
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, r(i)).ptr;
      out.push_back(arena_.keep({buffer, static_cast<std::size_t>(end - buffer)}));
    }
  };
  auto floats = [&](auto tag) {
    using T = decltype(tag);
    const auto a = py::array_t<T, py::array::forcecast>(array);
    const auto r = a.template unchecked<1>();
    for (py::ssize_t i = 0; i < r.shape(0); ++i)
      out.push_back(std::isnan(r(i)) ? std::string_view() : arena_.keep(float_text(r(i))));
  };
  if (kind == 'i') {
    integers(std::int64_t{});
  } else if (kind == 'u') {
    integers(std::uint64_t{});
  } else if (kind == 'f' && array.itemsize() == 4) {
    floats(float{});
  } else if (kind == 'f') {
    floats(double{});
  } else if (kind == 'b') {
    const auto a = py::array_t<bool, py::array::forcecast>(array);
    const auto r = a.unchecked<1>();
    for (py::ssize_t i = 0; i < r.shape(0); ++i) out.push_back(r(i) ? "True" : "False");
  } else {
    const py::array objects = kind == 'O' ? array : array.attr("astype")("O").cast<py::array>();
    add_objects(c, objects, out);
  }
}

bool FrameTable::is_list(PyObject* value) {
  return PyList_Check(value) || PyTuple_Check(value) || py::isinstance<py::array>(value);
}

void FrameTable::list_values(std::size_t c, std::size_t row, PyObject* value, std::vector<std::string_view>& out) {
  if (separators_[c].empty())
    throw Error(fmt::format("{}: row {}, column '{}' holds a list, but {} reads the column as one value (lists are "
                            "for multi and sequence features)",
                            table_.name, row + 1, table_.columns[c],
                            list_reader_[c].empty() ? std::string("no feature")
                                                    : fmt::format("feature '{}'", list_reader_[c])));
  // Lists and tuples are read in place; an array through the list of its items, kept with the
  // table (its items are new objects, which the values point into until they are joined).
  py::object items = py::reinterpret_steal<py::object>(PySequence_Fast(value, "a list"));
  if (!items) throw py::error_already_set();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(items.ptr());
  PyObject** item = PySequence_Fast_ITEMS(items.ptr());
  if (items.ptr() != value && n > 0) owners_.push_back(std::move(items));
  const char separator = separators_[c][0];
  for (Py_ssize_t i = 0; i < n; ++i) {
    std::string_view text;
    if (PyUnicode_Check(item[i]) && PyUnicode_IS_COMPACT_ASCII(item[i])) {
      // ASCII text is its own UTF-8, read in place (most list values: ids and categories).
      text = {static_cast<const char*>(PyUnicode_DATA(item[i])), static_cast<std::size_t>(PyUnicode_GET_LENGTH(item[i]))};
    } else if (is_list(item[i])) {
      throw Error(fmt::format("{}: row {}, column '{}' holds a list inside a list", table_.name, row + 1,
                              table_.columns[c]));
    } else {
      text = object_text(c, row, item[i]);  // lives in the string or the arena
    }
    if (text.find(separator) != std::string_view::npos)
      throw Error(fmt::format("{}: row {}, column '{}': the list value '{}' holds the separator '{}' that "
                              "splits the column's values",
                              table_.name, row + 1, table_.columns[c], text, separators_[c]));
    out.push_back(text);
  }
}

void FrameTable::add_objects(std::size_t c, const py::array& array, ColumnVector<std::string_view>& out,
                             bool table_rows) {
  owners_.push_back(array);
  const ObjectColumn column{static_cast<const char*>(array.data()), array.strides(0),
                            static_cast<std::size_t>(array.shape(0))};
  if (!separators_[c].empty()) {
    std::vector<HashedColumn*> hashing;
    if (table_rows)
      for (HashedColumn& h : table_.hashed)
        if (h.column == c) hashing.push_back(&h);
    if (!hashing.empty()) hashed_objects_[c] = column;
    return add_lists(c, column, out, hashing);
  }
  for (std::size_t r = 0; r < column.rows; ++r) {
    PyObject* value = column[r];
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_COMPACT_ASCII(value)) {
      out.push_back(noted(object_text(c, r, value)));
      continue;
    }
    // ASCII text (most cells: ids, categories) is its own UTF-8, copied without a call.
    const auto length = static_cast<std::size_t>(PyUnicode_GET_LENGTH(value));
    const auto* text = static_cast<const char*>(PyUnicode_DATA(value));
    if (length == 0) {
      out.push_back({});
      continue;
    }
    char* cell = arena_.allocate(length);
    copy_short(cell, text, length);
    if (holds_byte_or_nul(text, length, '\0')) plain_ = false;
    out.push_back({cell, length});
  }
}

// Flattened: the hash and the checks inlined into the loop over the values (8% of the cells
// step was calls to XXH3).
[[gnu::flatten]] bool FrameTable::hash_list(PyObject* const* items, std::size_t n, char separator,
                                            const std::vector<HashedColumn*>& hashing, ValuesAhead* ahead) {
  // One pass for the first feature: the values checked and hashed together, while each string
  // is in the cache. Keys are written into room made for all n and trimmed to those kept.
  HashedColumn& first = *hashing[0];
  const FeatureInfo& feature = feature_of(&first);
  ColumnVector<std::uint64_t>& first_keys = first.keys.keys;
  const std::size_t mark = first_keys.size();
  first_keys.resize(mark + n);
  std::uint64_t* keys = first_keys.data() + mark;
  std::size_t kept = 0;
  std::size_t bytes = n > 0 ? n - 1 : 0;  // joined, as the row parser would measure the cell
  bool plain = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (ahead) ahead->step();
    PyObject* item = items[i];
    if (!PyUnicode_Check(item) || !PyUnicode_IS_COMPACT_ASCII(item)) {
      plain = false;
      break;
    }
    const std::string_view text(static_cast<const char*>(PyUnicode_DATA(item)),
                                static_cast<std::size_t>(PyUnicode_GET_LENGTH(item)));
    bytes += text.size();
    plain &= !holds_byte_or_nul(text.data(), text.size(), separator);
    kept += value_key(feature, first.seed, text, keys[kept]);
  }
  if (!plain || bytes > max_field_bytes_) {  // read as text, where the row parser's checks name the value
    first_keys.resize(mark);
    return false;
  }
  first_keys.resize(mark + kept);
  // Other features reading the column (rare): the same values, checked already.
  for (std::size_t k = 1; k < hashing.size(); ++k) {
    HashedColumn& h = *hashing[k];
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t key;
      if (value_key(feature_of(&h), h.seed,
                    {static_cast<const char*>(PyUnicode_DATA(items[i])),
                     static_cast<std::size_t>(PyUnicode_GET_LENGTH(items[i]))},
                    key))
        h.keys.keys.push_back(key);
    }
  }
  return true;
}

const FeatureInfo& FrameTable::feature_of(const HashedColumn* h) const {
  return *hashed_features_[static_cast<std::size_t>(h - table_.hashed.data())];
}

std::string_view FrameTable::hashed_text(std::size_t c, std::size_t row, PyObject* value,
                                         const std::vector<HashedColumn*>& hashing) {
  // The text raises the errors a list's values make (a list inside, a value holding the separator).
  const std::string_view text = noted(object_text(c, row, value));
  for (HashedColumn* h : hashing) append_text_keys(feature_of(h), h->seed, text, h->keys.keys);
  // Kept where the row parser must see it: it checks a row not plain ASCII as a line, and
  // rejects a cell longer than data.max_field_bytes.
  return !is_plain_ascii(text) || text.size() > max_field_bytes_ ? text : std::string_view();
}

void FrameTable::add_lists(std::size_t c, const ObjectColumn& column, ColumnVector<std::string_view>& out,
                           const std::vector<HashedColumn*>& hashing) {
  const char separator = separators_[c][0];
  for (HashedColumn* h : hashing) {
    h->keys.offsets.reserve(column.rows + 1);
    h->given.reserve(column.rows);
  }
  // The keys of the first rows size the room for the rest, a quarter to spare, so that they are
  // seldom regrown and copied. (Counting every list's values first would cost a read of each
  // list's header, a cache miss each: 7% of reading the bench's frame.)
  constexpr std::size_t kRowsBeforeReserving = 256;
  // Values are asked for ahead only where they lie scattered (ReadOrder).
  std::optional<ValuesAhead> ahead(std::in_place, column, 0);
  ReadOrder order;
  // A row's cell (with hashing, empty unless the row parser must check its text).
  auto cell_of = [&](std::size_t r) -> std::string_view {
    PyObject* value = column[r];
    const bool list = PyList_CheckExact(value);  // else a tuple, an array, a joined cell, a missing one
    const Py_ssize_t n = list ? PyList_GET_SIZE(value) : 0;
    PyObject* const* items = list ? PySequence_Fast_ITEMS(value) : nullptr;
    if (n > 0) order.row(items[0], items[n - 1]);
    if (!hashing.empty()) {
      if (list && hash_list(items, static_cast<std::size_t>(n), separator, hashing, ahead ? &*ahead : nullptr))
        return {};
      return hashed_text(c, r, value, hashing);
    }
    if (!list) return noted(object_text(c, r, value));
    // Lists of ASCII strings (the usual case) are joined straight into the arena: their lengths
    // first (every string's header is read), then their texts.
    std::size_t size = n > 0 ? static_cast<std::size_t>(n - 1) : 0;
    bool ascii = true;
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (ahead) ahead->step();
      PyObject* item = items[i];
      ascii = ascii && PyUnicode_Check(item) && PyUnicode_IS_COMPACT_ASCII(item);
      if (ascii) size += static_cast<std::size_t>(PyUnicode_GET_LENGTH(item));
    }
    // Other values, and the checks' messages, the general way.
    if (!ascii || size == 0) return noted(object_text(c, r, value));
    char* cell = arena_.allocate(size);
    char* at = cell;
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (i) *at++ = separator;
      const auto length = static_cast<std::size_t>(PyUnicode_GET_LENGTH(items[i]));
      copy_short(at, static_cast<const char*>(PyUnicode_DATA(items[i])), length);
      at += length;
    }
    const std::string_view text(cell, size);
    // A value holding the separator would split into more values than the list holds; a NUL
    // byte makes the row one the row parser checks (plain_).
    std::ptrdiff_t separators = 0;
    unsigned char lowest = 0xFF;
    for (const char ch : text) {
      separators += ch == separator;
      lowest = std::min(lowest, static_cast<unsigned char>(ch));
    }
    if (separators != n - 1) return object_text(c, r, value);  // names the value
    if (lowest == 0) plain_ = false;
    return text;
  };
  for (std::size_t r = 0; r < column.rows; ++r) {
    if (r > 0 && r % ReadOrder::kBlockRows == 0) {
      const bool in_order = order.block_in_order();
      if (in_order && ahead) ahead.reset();
      if (!in_order && !ahead) ahead.emplace(column, r);
    }
    if (r == kRowsBeforeReserving)
      for (HashedColumn* h : hashing) h->keys.keys.reserve(h->keys.keys.size() * column.rows / r * 5 / 4);
    out.push_back(cell_of(r));
    // Whichever way the row's keys came (they start where the row before's end), its feature's
    // row is ended as the row encoder ends it.
    for (HashedColumn* h : hashing) {
      const std::size_t given = keep_max_len(feature_of(h), h->keys.keys, h->keys.offsets.back());
      h->given.push_back(static_cast<std::uint32_t>(given));
      h->keys.offsets.push_back(h->keys.keys.size());
    }
  }
}

std::string_view FrameTable::object_text(std::size_t c, std::size_t row, PyObject* value) {
  if (PyUnicode_Check(value)) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(value, &size);
    if (!text) throw py::error_already_set();
    // Copied into the table's own memory, column by column: the row parser reads a row's cells
    // from there in order, where the strings lie scattered over the heap (a cache miss each).
    return arena_.keep({text, static_cast<std::size_t>(size)});
  }
  if (value == Py_None || value == na_.ptr()) return {};
  if (PyBool_Check(value)) return value == Py_True ? "True" : "False";
  if (PyFloat_Check(value)) {
    const double d = PyFloat_AS_DOUBLE(value);
    return std::isnan(d) ? std::string_view() : arena_.keep(float_text(d));
  }
  if (is_list(value)) {  // a multi or sequence feature's values: the cell of them joined
    std::vector<std::string_view>& values = scratch_;
    values.clear();
    list_values(c, row, value, values);
    joined_.clear();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) joined_ += separators_[c];
      joined_.append(values[i]);
    }
    return arena_.keep(joined_);
  }
  if (PyLong_Check(value)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (!overflow) {
      char buffer[32];
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
      return arena_.keep({buffer, static_cast<std::size_t>(end - buffer)});
    }
  }
  // numpy scalars, decimals, timestamps, ...: their str, as pandas writes them.
  const py::object as_float = py::reinterpret_borrow<py::object>(value);
  if (py::isinstance(as_float, py::module_::import("numpy").attr("floating"))) {
    const double d = as_float.cast<double>();
    return std::isnan(d) ? std::string_view() : arena_.keep(float_text(d));
  }
  return arena_.keep(py::str(as_float).cast<std::string>());
}

}  // namespace heed::python
