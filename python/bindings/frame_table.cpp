#include "frame_table.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "config/schema.h"
#include "core/error.h"

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

}  // namespace

std::string python_float_text(double value) { return float_text(value); }
std::string python_float_text(float value) { return float_text(value); }

std::string_view CellArena::keep(std::string_view text) {
  if (text.empty()) return {};
  if (text.size() > kBlock) {  // a cell of its own
    blocks_.push_front(std::make_unique<char[]>(text.size()));
    std::memcpy(blocks_.front().get(), text.data(), text.size());
    return {blocks_.front().get(), text.size()};
  }
  if (used_ + text.size() > kBlock) {
    blocks_.push_back(std::make_unique<char[]>(kBlock));
    used_ = 0;
  }
  char* at = blocks_.back().get() + used_;
  std::memcpy(at, text.data(), text.size());
  used_ += text.size();
  return {at, text.size()};
}

FrameTable::FrameTable(const Config& config, std::string name, std::vector<std::string> columns, const py::list& arrays) {
  HEED_CHECK(columns.size() == arrays.size(), "{}: {} column names for {} columns", name, columns.size(), arrays.size());
  table_.name = std::move(name);
  table_.columns = std::move(columns);
  table_.cells.resize(table_.columns.size());
  separators_.resize(table_.columns.size());
  list_reader_.resize(table_.columns.size());
  const Schema schema = Schema::from_config(config);
  for (std::size_t c = 0; c < table_.columns.size(); ++c)
    for (const FeatureInfo& f : schema.features) {
      if (f.column != table_.columns[c]) continue;
      if (f.has_values())
        separators_[c] = std::string(1, f.separator);
      else
        list_reader_[c] = f.name;
    }
  na_ = py::module_::import("pandas").attr("NA");
  table_.rows = arrays.empty() ? 0 : static_cast<std::size_t>(py::len(arrays[0]));
  for (std::size_t c = 0; c < table_.columns.size(); ++c) add_column(c, arrays[c]);
}

void FrameTable::add_column(std::size_t c, const py::handle& column) {
  std::vector<std::string_view>& out = table_.cells[c];
  if (py::isinstance<py::tuple>(column)) {  // ("categorical", codes, categories)
    const auto parts = column.cast<py::tuple>();
    const py::array_t<std::int64_t, py::array::forcecast> codes(parts[1]);
    // The categories' own texts (an object array), then one view per row.
    std::vector<std::string_view> texts;
    add_objects(c, parts[2].cast<py::array>(), texts);
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

void FrameTable::add_objects(std::size_t c, const py::array& array, std::vector<std::string_view>& out) {
  owners_.push_back(array);
  const auto n = static_cast<std::size_t>(array.shape(0));
  const auto stride = array.strides(0);
  const char* base = static_cast<const char*>(array.data());
  for (std::size_t r = 0; r < n; ++r) {
    PyObject* value = *reinterpret_cast<PyObject* const*>(base + static_cast<py::ssize_t>(r) * stride);
    out.push_back(object_text(c, r, value));
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
