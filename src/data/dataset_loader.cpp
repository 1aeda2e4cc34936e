#include "data/dataset_loader.h"

#include <unordered_map>

#include "core/error.h"
#include "data/field_splitter.h"
#include "data/row_encoder.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

// Where each configured column sits in the file.
struct ColumnMap {
  std::size_t columns = 0;
  int label = -1;
  int group = -1;
  int split = -1;
  int slice = -1;
  std::vector<std::size_t> feature;  // per schema feature
};

std::string list_columns(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

ColumnMap map_columns(const std::vector<std::string>& names, const Config& config, const Schema& schema,
                      const LoadOptions& options, const std::string& path) {
  ColumnMap map;
  map.columns = names.size();
  auto find = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<int>(i);
    return -1;
  };
  map.label = find(config.data.label);
  if (map.label < 0 && options.require_label)
    throw Error(fmt::format("{}: no label column '{}' (columns: {})", path, config.data.label, list_columns(names)));
  if (!config.eval.group.empty() && !options.features_only) {
    map.group = find(config.eval.group);
    if (map.group < 0)
      throw Error(fmt::format("{}: no column '{}' for eval.group (columns: {})", path, config.eval.group,
                              list_columns(names)));
  }
  if (!config.data.valid_by.empty() && !options.features_only) {
    map.split = find(config.data.valid_by);
    if (map.split < 0)
      throw Error(fmt::format("{}: no column '{}' for data.valid_by (columns: {})", path, config.data.valid_by,
                              list_columns(names)));
  }
  if (!config.eval.slice.empty() && !options.features_only) {
    map.slice = find(config.eval.slice);
    if (map.slice < 0)
      throw Error(fmt::format("{}: no column '{}' for eval.slice (columns: {})", path, config.eval.slice,
                              list_columns(names)));
  }
  for (const FeatureInfo& f : schema.features) {
    const int i = find(f.column);
    if (i < 0)
      throw Error(fmt::format("{}: no column '{}' for feature '{}' (columns: {})", path, f.column, f.name,
                              list_columns(names)));
    map.feature.push_back(static_cast<std::size_t>(i));
  }
  return map;
}

}  // namespace

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options) {
  LineReader reader(path, static_cast<std::size_t>(config.data.max_line_bytes));
  return load_dataset(reader, config, schema, options);
}

Dataset load_dataset(LineReader& reader, const Config& config, const Schema& schema, const LoadOptions& options) {
  const char delimiter =
      !config.data.delimiter.empty() ? config.data.delimiter[0] : (config.data.format == "csv" ? ',' : '\t');
  FieldSplitter splitter(delimiter, config.data.format == "csv");
  std::vector<std::string_view> fields;
  std::string_view line;
  std::size_t bad_column = 0;

  auto location = [&](std::size_t column, const std::vector<std::string>& names) {
    SourceLocation where{reader.path(), reader.line_number(), reader.line_offset(), column, ""};
    if (column > 0 && column <= names.size()) where.column_name = names[column - 1];
    return where;
  };

  std::vector<std::string> names = config.data.columns;
  if (config.data.header) {
    if (!reader.next(line)) throw Error(fmt::format("{}: the file is empty (expected a header line)", reader.path()));
    const std::string problem = splitter.split(line, fields, bad_column);
    if (!problem.empty()) throw ParseError(location(bad_column, {}), "header", problem);
    names.assign(fields.begin(), fields.end());
  } else if (names.empty()) {
    throw Error(fmt::format("{}: data.header = false needs data.columns to name the columns", reader.path()));
  }
  const ColumnMap map = map_columns(names, config, schema, options, reader.path());

  Dataset data;
  data.source = reader.path();
  std::unordered_map<std::string, std::uint32_t> slice_ids;
  const RowEncoder encoder(schema);
  encoder.prepare(data);
  if (map.label >= 0) data.labels.reserve(1 << 16);

  while (reader.next(line)) {
    if (line.empty()) continue;  // blank lines carry no row
    const std::string problem = splitter.split(line, fields, bad_column);
    if (!problem.empty()) throw ParseError(location(bad_column, names), "quoting", problem);
    if (fields.size() != map.columns)
      throw ParseError(location(0, names), "column_count",
                       fmt::format("expected {} columns, found {}", map.columns, fields.size()));
    if (map.label >= 0) {
      double label = 0;
      const auto text = fields[static_cast<std::size_t>(map.label)];
      if (!parse_number(text, label) || (label != 0.0 && label != 1.0))
        throw ParseError(location(static_cast<std::size_t>(map.label) + 1, names), "label",
                         fmt::format("label must be 0 or 1, found '{}'", text));
      data.labels.push_back(static_cast<float>(label));
    }
    if (map.group >= 0) data.groups.push_back(hash_value(fields[static_cast<std::size_t>(map.group)], 0));
    if (map.slice >= 0) {
      const std::string value(fields[static_cast<std::size_t>(map.slice)]);
      auto [it, added] = slice_ids.emplace(value, static_cast<std::uint32_t>(data.slice_names.size()));
      if (added) data.slice_names.push_back(value);
      data.slices.push_back(it->second);
    }
    data.split_keys.push_back(map.split >= 0 ? hash_value(fields[static_cast<std::size_t>(map.split)], 1)
                                             : hash_value(line, 1));

    data.source_lines.push_back(reader.line_number());
    try {
      for (std::size_t fi = 0; fi < schema.features.size(); ++fi) encoder.add_text(fi, fields[map.feature[fi]], data);
      encoder.finish_row(data);
    } catch (const FeatureValueError& e) {
      throw ParseError(location(map.feature[e.feature()] + 1, names), e.reason(), e.what());
    }
  }
  return data;
}

}  // namespace heed
