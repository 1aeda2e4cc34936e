#include "explain/raw_rows.h"

#include "core/error.h"
#include "data/dataset_loader.h"

namespace heed::explain {
namespace {

// The loader's records (a CSV record may span lines inside quotes), but any damage stops.
LineReader::Options strict_reading(const DataConfig& data) {
  LineReader::Options options = line_reader_options(data);
  options.report_damage = false;
  return options;
}

// The positions of `name` among `names`; throws naming `source` when there is none.
std::vector<std::size_t> positions(const std::vector<std::string>& names, const std::string& name,
                                   const std::string& source) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) at.push_back(i);
  if (at.empty()) throw Error(fmt::format("{}: no column '{}'", source, name));
  return at;
}

}  // namespace

RawRowReader::RawRowReader(const std::filesystem::path& path, const Config& config)
    : layout_(file_layout(config.data)), reader_(path, strict_reading(config.data)) {
  names_ = layout_.columns;
  if (layout_.header) {
    std::string_view line;
    if (!reader_.next(line))
      throw Error(fmt::format("{}: the file is empty (expected a header line)", reader_.path()));
    FieldSplitter splitter(layout_.delimiter, layout_.quoting);
    std::vector<std::string_view> fields;
    std::size_t bad_column = 0;
    const std::string problem = splitter.split(line, fields, bad_column);
    if (!problem.empty()) throw Error(fmt::format("{}:1: header: {}", reader_.path(), problem));
    names_.assign(fields.begin(), fields.end());
  }
  splitter_ = std::make_unique<RowSplitter>(layout_, names_.size());
}

std::vector<std::size_t> RawRowReader::columns(const std::string& name) const {
  return positions(names_, name, reader_.path());
}

bool RawRowReader::next() {
  std::string_view line;
  while (reader_.next(line)) {
    if (line.empty()) continue;  // the loader skips blank lines too
    if (started_) ++row_;
    started_ = true;
    LineProblem problem;
    if (!splitter_->split(line, cells_, problem))
      throw Error(fmt::format("{}:{}: column {}: {}", reader_.path(), reader_.line_number(), problem.position,
                              problem.message));
    return true;
  }
  return false;
}

std::string_view RawRowReader::value(std::size_t column) {
  const std::size_t n = cells_.count(column);
  if (n == 0) return {};
  if (n == 1) return cells_.begin(column)->key;
  joined_.clear();
  for (std::size_t k = 0; k < n; ++k) {
    if (k) joined_.push_back('|');
    joined_.append(cells_.begin(column)[k].key);
  }
  return joined_;
}

std::vector<std::size_t> TableRows::columns(const std::string& name) const {
  return positions(table_.columns, name, table_.name);
}

bool TableRows::next() {
  if (started_ ? row_ + 1 >= table_.rows : table_.rows == 0) return false;
  if (started_) ++row_;
  started_ = true;
  return true;
}

std::vector<std::string> split_values(const FeatureInfo& feature, std::string_view text) {
  std::vector<std::string> values;
  if (!feature.has_values()) {
    values.emplace_back(text);
    return values;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t stop = text.find(feature.separator, start);
    if (stop == std::string_view::npos) stop = text.size();
    const std::string_view value = text.substr(start, stop - start);
    if (!value.empty() && value != feature.padding) values.emplace_back(value);
    start = stop + 1;
  }
  if (feature.max_len > 0 && values.size() > feature.max_len) {
    if (feature.kind == FeatureKind::kSequence)
      values.erase(values.begin(), values.end() - static_cast<std::ptrdiff_t>(feature.max_len));
    else
      values.resize(feature.max_len);
  }
  return values;
}

}  // namespace heed::explain
