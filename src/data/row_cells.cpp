#include "data/row_cells.h"

#include <algorithm>

#include <fmt/format.h>

#include "data/byte_search.h"

namespace heed {
namespace {

bool is_index(std::string_view text) {
  if (text.empty() || text.size() > 18) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t to_integer(std::string_view digits) {
  std::int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

RowSplitter::RowSplitter(const FileLayout& layout, std::size_t columns)
    : layout_(layout), columns_(columns), fields_splitter_(layout.delimiter, layout.quoting) {}

bool RowSplitter::split(std::string_view line, RowCells& out, LineProblem& problem, bool may_hold_quotes) {
  return layout_.sparse() ? split_sparse(line, out, problem) : split_delimited(line, out, problem, may_hold_quotes);
}

bool RowSplitter::split_delimited(std::string_view line, RowCells& out, LineProblem& problem, bool may_hold_quotes) {
  out.cells.clear();
  // Filled in place, field by field: a whole Cell built first and copied in is written in parts
  // and read back whole, which stalls the copy. (Not emplace_back(text, text, n): clang 14 has
  // no parenthesized aggregate initialization.)
  auto add_cell = [&out](std::string_view text) {
    Cell& cell = out.cells.emplace_back();
    cell.key = text;
    cell.value = text;
    cell.position = static_cast<std::uint32_t>(out.cells.size());
  };
  if (!layout_.quoting || !may_hold_quotes || line.find('"') == std::string_view::npos) {
    // The usual line: every delimiter separates, so the cells are cut straight from it.
    std::size_t start = 0;
    for_each_byte(line, layout_.delimiter, [&](std::size_t stop) {
      add_cell(line.substr(start, stop - start));
      start = stop + 1;
    });
    add_cell(line.substr(start));
  } else {
    std::size_t bad_column = 0;
    std::string quoting = fields_splitter_.split(line, fields_, bad_column, may_hold_quotes);
    if (!quoting.empty()) {
      problem = {"quoting", static_cast<std::uint32_t>(bad_column), std::move(quoting)};
      return false;
    }
    for (std::string_view field : fields_) add_cell(field);
  }
  if (out.cells.size() != columns_) {
    problem = {"column_count", 0, fmt::format("expected {} columns, found {}", columns_, out.cells.size())};
    return false;
  }
  out.starts.resize(columns_ + 1);
  for (std::size_t i = 0; i <= columns_; ++i) out.starts[i] = static_cast<std::uint32_t>(i);
  return true;
}

bool RowSplitter::split_sparse(std::string_view line, RowCells& out, LineProblem& problem) {
  const bool ffm = layout_.kind == FileLayout::Kind::kLibffm;
  const std::size_t fields = columns_ - 1;
  unordered_.clear();
  column_of_.clear();
  std::uint32_t token = 0;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    std::size_t stop = i;
    while (stop < line.size() && line[stop] != ' ' && line[stop] != '\t') ++stop;
    const std::string_view text = line.substr(i, stop - i);
    i = stop;
    ++token;
    if (token == 1) {  // the label
      unordered_.push_back(Cell{text, text, token});
      column_of_.push_back(0);
      continue;
    }
    const std::string expected = ffm ? "field:index:value" : "index:value";
    const std::size_t first = text.find(':');
    const std::size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
    std::string_view field_text, index, value;
    if (ffm) {
      const bool shaped = second != std::string_view::npos && text.find(':', second + 1) == std::string_view::npos;
      if (shaped) {
        field_text = text.substr(0, first);
        index = text.substr(first + 1, second - first - 1);
        value = text.substr(second + 1);
      }
      if (!shaped || !is_index(field_text) || !is_index(index) || value.empty()) {
        problem = {"sparse_pair", token, fmt::format("expected {} with integer field and index, found '{}'", expected, text)};
        return false;
      }
    } else {
      if (first == std::string_view::npos || second != std::string_view::npos || !is_index(text.substr(0, first)) ||
          first + 1 == text.size()) {
        problem = {"sparse_pair", token, fmt::format("expected {} with an integer index, found '{}'", expected, text)};
        return false;
      }
      index = text.substr(0, first);
      value = text.substr(first + 1);
    }
    std::size_t field = 0;
    if (ffm) {
      const std::int64_t f = to_integer(field_text);
      if (f >= static_cast<std::int64_t>(fields)) {
        problem = {"sparse_field", token,
                   fmt::format("field {} in '{}', but data.columns names {} fields (0..{})", f, text, fields, fields - 1)};
        return false;
      }
      field = static_cast<std::size_t>(f);
    } else if (layout_.fields_by_position) {
      field = token - 2;
      if (field >= fields) {
        problem = {"column_count", 0,
                   fmt::format("expected {} index:value pairs (one per field of data.columns), found more", fields)};
        return false;
      }
    } else {
      const std::int64_t idx = to_integer(index);
      const auto& starts = layout_.field_starts;
      const auto above = std::upper_bound(starts.begin(), starts.end(), idx);
      if (above == starts.begin()) {
        problem = {"sparse_field", token,
                   fmt::format("index {} is below the first field's start {} (data.field_starts)", idx, starts[0])};
        return false;
      }
      field = static_cast<std::size_t>(above - starts.begin() - 1);
    }
    unordered_.push_back(Cell{index, value, token});
    column_of_.push_back(static_cast<std::uint32_t>(field + 1));
  }
  if (token == 0) {
    problem = {"column_count", 0, "expected a label and index:value pairs, found only spaces"};
    return false;
  }
  if (!ffm && layout_.fields_by_position && token - 1 != fields) {
    problem = {"column_count", 0,
               fmt::format("expected {} index:value pairs (one per field of data.columns), found {}", fields, token - 1)};
    return false;
  }
  // Group by column, keeping each column's pairs in line order.
  out.starts.assign(columns_ + 1, 0);
  for (std::uint32_t c : column_of_) ++out.starts[c + 1];
  for (std::size_t c = 0; c < columns_; ++c) out.starts[c + 1] += out.starts[c];
  out.cells.resize(unordered_.size());
  next_slot_.assign(out.starts.begin(), out.starts.end() - 1);
  for (std::size_t k = 0; k < unordered_.size(); ++k) out.cells[next_slot_[column_of_[k]]++] = unordered_[k];
  return true;
}

}  // namespace heed
