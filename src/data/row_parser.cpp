#include "data/row_parser.h"

#include <cmath>

#include <fmt/ranges.h>

#include "core/error.h"
#include "data/line_reader.h"
#include "data/utf8.h"
#include "hashing/feature_hash_inline.h"

namespace heed {
namespace {


ColumnMap map_columns(const std::vector<std::string>& names, const Config& config, const Schema& schema,
                      const ParseScope& options, const std::string& path) {
  const std::string columns = describe_columns(names, file_layout(config.data));
  ColumnMap map;
  map.columns = names.size();
  // The columns called `name` (counted from 1).
  auto all_named = [&](const std::string& name) {
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) at.push_back(i + 1);
    return at;
  };
  // The column called `name`, or -1. A name the header repeats is an error once something that
  // takes one value reads it: taking the first silently would drop the others. (Real logs spread
  // a sequence over 50 columns of one name; a multi or sequence feature reads them all.)
  auto find = [&](const std::string& name, const std::string& purpose) -> int {
    const std::vector<std::size_t> at = all_named(name);
    if (at.size() > 1)
      throw Error(fmt::format(
          "{}: the header names {} columns '{}' (columns {}), so {} is ambiguous; rename them (only a multi or "
          "sequence feature reads several columns of one name, as its values in order)",
          path, at.size(), name, fmt::join(at, ", "), purpose));
    return at.empty() ? -1 : static_cast<int>(at[0] - 1);
  };
  map.label = find(config.data.label, "the label");
  if (map.label < 0 && options.require_label)
    throw Error(fmt::format("{}: no label column '{}' {}", path, config.data.label, columns));
  if (!config.eval.group.empty() && !options.features_only) {
    map.group = find(config.eval.group, "eval.group");
    if (map.group < 0)
      throw Error(fmt::format("{}: no column '{}' for eval.group {}", path, config.eval.group,
                              columns));
  }
  if (!config.data.valid_by.empty() && !options.features_only) {
    map.split = find(config.data.valid_by, "data.valid_by");
    if (map.split < 0)
      throw Error(fmt::format("{}: no column '{}' for data.valid_by {}", path, config.data.valid_by,
                              columns));
  }
  if (!config.data.valid_by_time.empty() && !options.features_only) {
    map.time = find(config.data.valid_by_time, "data.valid_by_time");
    if (map.time < 0)
      throw Error(fmt::format("{}: no column '{}' for data.valid_by_time {}", path,
                              config.data.valid_by_time, columns));
  }
  if (!config.eval.slice.empty() && !options.features_only) {
    map.slice = find(config.eval.slice, "eval.slice");
    if (map.slice < 0)
      throw Error(fmt::format("{}: no column '{}' for eval.slice {}", path, config.eval.slice,
                              columns));
  }
  // A sparse line's fields already hold several values each: a repeated field name stays an error.
  const bool may_spread = !file_layout(config.data).sparse();
  map.spread.resize(schema.features.size());
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const FeatureInfo& f = schema.features[fi];
    const std::vector<std::size_t> at = all_named(f.column);
    const bool spread = may_spread && at.size() > 1 && f.has_values();
    const int i = spread ? static_cast<int>(at[0] - 1) : find(f.column, fmt::format("feature '{}'", f.name));
    if (i < 0)
      throw Error(fmt::format("{}: no column '{}' for feature '{}' {}", path, f.column, f.name,
                              columns));
    map.feature.push_back(static_cast<std::size_t>(i));
    if (spread) {
      for (std::size_t column : at) map.spread[fi].push_back(column - 1);
      map.any_spread = true;
    }
  }
  return map;
}

// Cuts every column of `data` back to its complete rows, dropping what a rejected row added.
void drop_partial_row(Dataset& data) {
  const std::size_t n = data.rows;
  if (data.labels.size() > n) data.labels.resize(n);
  if (data.groups.size() > n) data.groups.resize(n);
  if (data.split_keys.size() > n) data.split_keys.resize(n);
  if (data.times.size() > n) data.times.resize(n);
  if (data.slices.size() > n) data.slices.resize(n);
  if (data.source_file.size() > n) data.source_file.resize(n);
  if (data.source_lines.size() > n) data.source_lines.resize(n);
  for (KeyColumn& c : data.keys) {
    if (c.offsets.size() <= n) continue;  // a dense input's column holds no keys
    c.offsets.resize(n + 1);
    c.keys.resize(c.offsets[n]);
  }
  for (auto& d : data.dense)
    if (d.size() > n) d.resize(n);
}

}  // namespace

LineInfo LineInfo::of(const LineReader& reader) {
  const bool damaged = reader.line_unterminated() && !reader.damage().empty();
  return LineInfo{reader.line_number(),     reader.line_count(),        reader.line_offset(),
                  reader.line_length(),     reader.line_too_long(),     reader.line_unterminated(),
                  damaged ? &reader.damage() : nullptr, reader.unclosed_quote(), reader.line_may_hold_quotes()};
}

RowParser::RowParser(const Config& config, const Schema& schema, const ParseScope& scope, BadRowLog& log)
    : config_(config), schema_(schema), scope_(scope), log_(log), layout_(file_layout(config.data)),
      encoder_(schema), label_negative_(config.data.label_values.at(0)),
      label_positive_(config.data.label_values.at(1)) {
  if (!config.data.label_texts.empty())
    label_texts_ = {std::string(trim_spaces(config.data.label_texts.at(0))),
                    std::string(trim_spaces(config.data.label_texts.at(1)))};
  encoder_.prepare(data_);
  keys_per_row_.assign(schema_.features.size(), 0.0);
}

Dataset RowParser::take() {
  // How many keys a row of each multi or sequence feature held, for reserve() to size the next part.
  note_keys_per_row();
  Dataset out = std::move(data_);
  data_ = Dataset();
  encoder_.prepare(data_);
  slice_ids_.clear();
  file_index_.reset();
  return out;
}

void RowParser::note_keys_per_row() {
  if (data_.rows == 0) return;
  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi)
    if (schema_.features[fi].has_values())
      keys_per_row_[fi] = static_cast<double>(data_.keys[fi].keys.size()) / static_cast<double>(data_.rows);
}

void RowParser::reserve(std::size_t rows) {
  const std::size_t total = data_.rows + rows;
  note_keys_per_row();  // the rows so far, if any, say best how many keys the next ones hold
  if (map_.label >= 0) data_.labels.reserve(total);
  if (map_.group >= 0) data_.groups.reserve(total);
  if (map_.time >= 0) data_.times.reserve(total);
  data_.split_keys.reserve(total);
  data_.source_file.reserve(total);
  data_.source_lines.reserve(total);
  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
    const FeatureInfo& f = schema_.features[fi];
    if (f.is_dense()) {
      data_.dense[static_cast<std::size_t>(f.dense)].reserve(total);
      continue;
    }
    KeyColumn& column = data_.keys[fi];
    column.offsets.reserve(total + 1);
    // Several keys a row: as many as the last part held, and some room above.
    column.keys.reserve(f.has_values() ? static_cast<std::size_t>(keys_per_row_[fi] * 1.1 * static_cast<double>(total))
                                       : total);
  }
}

bool RowParser::has_room(std::size_t rows) const {
  if (data_.split_keys.capacity() < data_.rows + rows) return false;
  const double seen = static_cast<double>(std::max<std::size_t>(data_.rows, 1));
  for (const KeyColumn& column : data_.keys) {
    const double per_row = static_cast<double>(column.keys.size()) / seen;
    if (static_cast<double>(column.keys.capacity() - column.keys.size()) < per_row * static_cast<double>(rows))
      return false;
  }
  return true;
}

std::vector<std::string> RowParser::read_header(const FileLayout& layout, LineReader& reader) {
  if (!layout.header) return layout.columns;
  std::string_view line;
  if (!reader.next(line)) throw Error(fmt::format("{}: the file is empty (expected a header line)", reader.path()));
  SourceLocation where{reader.path(), reader.line_number(), 0, 0, ""};
  if (reader.unclosed_quote()) {
    where.column = reader.unclosed_quote().column;
    throw ParseError(where, "header",
                     fmt::format("the header's quoted field opened on line {} is not closed",
                                 reader.unclosed_quote().line));
  }
  if (const std::string problem = not_utf8_text(line); !problem.empty()) throw ParseError(where, "utf8", problem);
  if (reader.line_too_long() || !reader.damage().empty())
    throw ParseError(where, "header", "the header line is cut short or longer than data.max_line_bytes");
  return header_names(layout, reader.path(), line);
}

std::vector<std::string> RowParser::header_names(const FileLayout& layout, const std::string& path,
                                                 std::string_view line) {
  FieldSplitter splitter(layout.delimiter, layout.quoting);
  std::vector<std::string_view> fields;
  std::size_t bad_column = 0;
  const std::string problem = splitter.split(line, fields, bad_column);
  if (!problem.empty()) throw ParseError(SourceLocation{path, 1, 0, bad_column, ""}, "header", problem);
  return {fields.begin(), fields.end()};
}

void RowParser::start_file(const std::string& path, std::vector<std::string> names) {
  path_ = path;
  file_index_.reset();
  names_ = std::move(names);
  map_ = map_columns(names_, config_, schema_, scope_, path_);
  splitter_ = std::make_unique<RowSplitter>(layout_, map_.columns);
}

SourceLocation RowParser::location(const LineInfo& info, std::size_t column) const {
  SourceLocation where{path_, info.number, info.offset, column, ""};
  if (column > 0 && column <= names_.size() && !layout_.sparse()) where.column_name = names_[column - 1];
  return where;
}

// The location of a column's first cell, named by the column (sparse formats: by the field).
SourceLocation RowParser::cell_location(const LineInfo& info, std::size_t column) const {
  SourceLocation where = location(info, cells_.count(column) ? cells_.begin(column)->position : 0);
  where.column_name = names_[column];
  if (where.column == 0 && layout_.sparse()) where.column_name.clear();
  return where;
}

// " (in the record of lines 4-6)", said after a problem in a record that spans several lines.
std::string RowParser::span(const LineInfo& info) {
  return info.lines > 1 ? fmt::format(" (in the record of lines {}-{})", info.number, info.number + info.lines - 1)
                        : std::string();
}

// Whether a label cell says positive, read as data.label_texts, data.label_threshold or
// data.label_values asks; any other label is a bad row.
bool RowParser::read_label(const LineInfo& info, std::size_t column, std::string_view text) const {
  const DataConfig& d = config_.data;
  if (label_texts_) {
    const std::string_view trimmed = trim_spaces(text);
    if (trimmed == (*label_texts_)[1]) return true;
    if (trimmed == (*label_texts_)[0]) return false;
    throw ParseError(cell_location(info, column), "label",
                     fmt::format("label must be '{}' or '{}' (data.label_texts), found '{}'", d.label_texts[0],
                                 d.label_texts[1], text));
  }
  double label = 0;
  const bool number = parse_number(text, label);
  if (!std::isnan(d.label_threshold)) {
    if (!number)
      throw ParseError(cell_location(info, column), "label",
                       fmt::format("label must be a number (data.label_threshold = {}), found '{}'",
                                   d.label_threshold, text));
    return label >= d.label_threshold;
  }
  if (!number || (label != label_negative_ && label != label_positive_))
    throw ParseError(cell_location(info, column), "label",
                     fmt::format("label must be {} or {}, found '{}'", label_negative_, label_positive_, text));
  return label == label_positive_;
}

void RowParser::parse_line(const LineInfo& info, std::string_view line) {
  if (info.too_long) {
    log_.count_row();
    log_.reject(ParseError(location(info, 0), "long_line",
                           fmt::format("{} of {} bytes is longer than data.max_line_bytes = {}",
                                       info.lines > 1 ? "record" : "line", info.length, config_.data.max_line_bytes) +
                               span(info)),
                line);
    return;
  }
  if (line.empty()) return;  // blank lines carry no row
  log_.count_row();
  if (info.damage) {
    // The data stops inside this line: whatever parses from it is a cut-off value.
    log_.reject(ParseError(location(info, 0), "truncated_file",
                           fmt::format("the file's data ends inside this line: {}", *info.damage)),
                line);
    return;
  }
  if (info.unclosed) {
    // A stray quote, most likely: the record was cut after the quote's line, and reading goes
    // on after it rather than taking the rest of the file into one field.
    log_.reject(ParseError(location(info, info.unclosed.column), "quoting",
                           fmt::format("the quoted field opened on line {} is not closed {}", info.unclosed.line,
                                       info.unclosed.at_end_of_file
                                           ? std::string("by the end of the file")
                                           : fmt::format("within data.max_line_bytes = {} bytes of its record",
                                                         config_.data.max_line_bytes))),
                line);
    return;
  }
  try {
    if (!splitter_->split(line, cells_, problem_, info.may_hold_quotes))
      throw ParseError(location(info, problem_.position), problem_.reason, problem_.message);
    encode_row(info, line);
  } catch (const ParseError& e) {
    drop_partial_row(data_);
    if (info.unterminated)
      log_.reject(ParseError(e.where(), "cut_line",
                             e.detail() + span(info) +
                                 " (the file ends inside this line, without a newline: it may be cut short)"),
                  line);
    else if (info.lines > 1)
      log_.reject(ParseError(e.where(), e.reason(), e.detail() + span(info)), line);
    else
      log_.reject(e, line);
  }
}

void RowParser::parse_cells(const LineInfo& info, std::string_view line, const std::vector<std::string_view>& cells) {
  static const std::vector<std::size_t> none;
  parse_cells(info, line, cells, none);
}

void RowParser::parse_cells(const LineInfo& info, std::string_view line, const std::vector<std::string_view>& cells,
                            const std::vector<std::size_t>& hashed_given) {
  HEED_CHECK(hashed_given.empty() || (hashed_given.size() == schema_.features.size() && !map_.any_spread),
             "{}: hashed values for {} features of {}", path_, hashed_given.size(), schema_.features.size());
  HEED_CHECK(cells.size() == map_.columns && !layout_.sparse(), "{}: a row of {} cells for {} columns", path_,
             cells.size(), map_.columns);
  log_.count_row();
  cells_.cells.clear();
  cells_.starts.clear();
  for (std::size_t c = 0; c < cells.size(); ++c) {
    cells_.starts.push_back(static_cast<std::uint32_t>(c));
    cells_.cells.push_back(Cell{cells[c], cells[c], static_cast<std::uint32_t>(c + 1)});
  }
  cells_.starts.push_back(static_cast<std::uint32_t>(cells.size()));
  try {
    encode_row(info, line, hashed_given.empty() ? nullptr : &hashed_given);
  } catch (const ParseError& e) {
    drop_partial_row(data_);
    log_.reject(e, line);
  }
}

void RowParser::data_ended_early(const LineInfo& after, const std::string& damage) {
  SourceLocation where{path_, after.number + after.lines, after.offset + after.length, 0, ""};
  log_.count_row();
  log_.reject(ParseError(where, "truncated_file", fmt::format("the file's data ends early: {}", damage)), "");
}

void RowParser::encode_row(const LineInfo& info, std::string_view line, const std::vector<std::size_t>* hashed_given) {
  const auto max_field = static_cast<std::size_t>(config_.data.max_field_bytes);
  for (const Cell& cell : cells_.cells)
    if (cell.key.size() > max_field || cell.value.size() > max_field)
      throw ParseError(location(info, cell.position), "long_field",
                       fmt::format("field of {} bytes is longer than data.max_field_bytes = {}",
                                   std::max(cell.key.size(), cell.value.size()), max_field));
  if (!is_plain_ascii(line) &&
      (find_invalid_utf8(line) != std::string_view::npos || line.find('\0') != std::string_view::npos)) {
    auto bad = [](std::string_view text) {
      return find_invalid_utf8(text) != std::string_view::npos || text.find('\0') != std::string_view::npos;
    };
    std::uint32_t position = 0;
    for (const Cell& cell : cells_.cells)
      if (bad(cell.key) || bad(cell.value)) {
        position = cell.position;
        break;
      }
    throw ParseError(location(info, position), "utf8", not_utf8_text(line));
  }
  if (map_.label >= 0) {
    const auto column = static_cast<std::size_t>(map_.label);
    const std::string_view text = cells_.count(column) ? cells_.begin(column)->key : std::string_view();
    data_.labels.push_back(read_label(info, column, text) ? 1.0f : 0.0f);
  }
  auto first_key = [&](int column) {
    const auto c = static_cast<std::size_t>(column);
    return cells_.count(c) ? cells_.begin(c)->key : std::string_view();
  };
  if (map_.group >= 0) data_.groups.push_back(hash_value_inline(first_key(map_.group), 0));
  if (map_.slice >= 0) {
    const std::string value(first_key(map_.slice));
    auto [it, added] = slice_ids_.emplace(value, static_cast<std::uint32_t>(data_.slice_names.size()));
    if (added) data_.slice_names.push_back(value);
    data_.slices.push_back(it->second);
  }
  if (map_.time >= 0) {
    double time = 0;
    if (!parse_number(first_key(map_.time), time))
      throw ParseError(cell_location(info, static_cast<std::size_t>(map_.time)), "time",
                       fmt::format("data.valid_by_time column '{}' needs a number, found '{}'",
                                   names_[static_cast<std::size_t>(map_.time)], first_key(map_.time)));
    data_.times.push_back(time);
  }
  data_.split_keys.push_back(map_.split >= 0 ? hash_value_inline(first_key(map_.split), 1) : hash_value_inline(line, 1));
  if (!file_index_) file_index_ = data_.source_file_index(path_);
  data_.source_file.push_back(*file_index_);
  data_.source_lines.push_back(info.number);

  try {
    if (!layout_.sparse() && !map_.any_spread) {  // one cell per feature, as the file wrote it
      row_texts_.resize(schema_.features.size());
      for (std::size_t fi = 0; fi < row_texts_.size(); ++fi) row_texts_[fi] = cells_.cells[map_.feature[fi]].key;
      if (hashed_given)
        encoder_.add_row(row_texts_, *hashed_given, data_);
      else
        encoder_.add_row(row_texts_, data_);
    } else if (!layout_.sparse()) {  // some feature spread over columns, each cell holding values
      for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
        if (map_.spread[fi].empty()) {
          encoder_.add_text(fi, cells_.cells[map_.feature[fi]].key, data_);
          continue;
        }
        values_.clear();
        for (std::size_t column : map_.spread[fi]) values_.push_back(cells_.cells[column].key);
        encoder_.add_values(fi, values_, data_);
      }
    } else {
      for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) encode_feature(info, fi);
    }
    encoder_.finish_row(data_);
  } catch (const FeatureValueError& e) {
    throw ParseError(cell_location(info, map_.feature[e.feature()]), e.reason(), e.what());
  }
}

// A sparse line's feature: its field's index:value pairs.
void RowParser::encode_feature(const LineInfo& info, std::size_t fi) {
  const FeatureInfo& f = schema_.features[fi];
  const std::size_t column = map_.feature[fi];
  const std::size_t n = cells_.count(column);
  const Cell* cell = cells_.begin(column);
  try {
    if (f.kind == FeatureKind::kNumeric) {
      if (n > 1)
        throw ParseError(cell_location(info, column), "sparse_field",
                         fmt::format("numeric feature '{}' takes one index:value pair from field '{}', found {}",
                                     f.name, names_[column], n));
      if (n == 0)
        encoder_.add_number(fi, std::nan(""), data_);
      else
        encoder_.add_text(fi, cell->value, data_);
      return;
    }
    // Categorical values are the indices, one-hot: a value other than 1 would be silently lost.
    for (std::size_t k = 0; k < n; ++k) {
      double v = 0;
      if (!parse_number(cell[k].value, v) || v != 1.0)
        throw ParseError(location(info, cell[k].position), "sparse_value",
                         fmt::format("feature '{}' is {} and reads index:1 pairs, found value '{}' (declare it "
                                     "kind = \"numeric\" to read the number)",
                                     f.name, to_string(f.kind), cell[k].value));
    }
    if (!f.has_values()) {
      if (n > 1)
        throw ParseError(cell_location(info, column), "sparse_field",
                         fmt::format("categorical feature '{}' takes one index from field '{}', found {} (declare "
                                     "it kind = \"multi\" for several)",
                                     f.name, names_[column], n));
      encoder_.add_text(fi, n ? cell->key : std::string_view(), data_);
      return;
    }
    values_.clear();
    for (std::size_t k = 0; k < n; ++k) values_.push_back(cell[k].key);
    encoder_.add_values(fi, values_, data_);
  } catch (const FeatureValueError& e) {
    throw ParseError(cell_location(info, column), e.reason(), e.what());
  }
}

}  // namespace heed
