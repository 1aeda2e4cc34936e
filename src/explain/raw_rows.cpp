#include "explain/raw_rows.h"

#include "core/error.h"

namespace heed::explain {
namespace {

char delimiter_of(const DataConfig& data) {
  if (!data.delimiter.empty()) return data.delimiter[0];
  return data.format == "csv" ? ',' : '\t';
}

}  // namespace

RawRowReader::RawRowReader(const std::filesystem::path& path, const Config& config)
    : reader_(path), splitter_(delimiter_of(config.data), config.data.format == "csv") {
  names_ = config.data.columns;
  if (config.data.header) {
    std::string_view line;
    if (!reader_.next(line))
      throw Error(fmt::format("{}: the file is empty (expected a header line)", reader_.path()));
    std::size_t bad_column = 0;
    const std::string problem = splitter_.split(line, fields_, bad_column);
    if (!problem.empty()) throw Error(fmt::format("{}:1: header: {}", reader_.path(), problem));
    names_.assign(fields_.begin(), fields_.end());
  }
}

std::size_t RawRowReader::column(const std::string& name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  throw Error(fmt::format("{}: no column '{}'", reader_.path(), name));
}

bool RawRowReader::next() {
  std::string_view line;
  while (reader_.next(line)) {
    if (line.empty()) continue;  // the loader skips blank lines too
    if (started_) ++row_;
    started_ = true;
    std::size_t bad_column = 0;
    const std::string problem = splitter_.split(line, fields_, bad_column);
    if (!problem.empty())
      throw Error(fmt::format("{}:{}: column {}: {}", reader_.path(), reader_.line_number(),
                              bad_column, problem));
    if (fields_.size() != names_.size())
      throw Error(fmt::format("{}:{}: expected {} columns, found {}", reader_.path(),
                              reader_.line_number(), names_.size(), fields_.size()));
    return true;
  }
  return false;
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
    if (stop > start) values.emplace_back(text.substr(start, stop - start));
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
