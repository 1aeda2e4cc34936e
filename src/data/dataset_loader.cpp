#include "data/dataset_loader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "data/field_splitter.h"
#include "data/line_reader.h"
#include "hashing/feature_hash.h"

namespace heed {
namespace {

constexpr std::int64_t kMissingBucket = std::numeric_limits<std::int64_t>::min();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ')) s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

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
  if (!config.eval.group.empty()) {
    map.group = find(config.eval.group);
    if (map.group < 0)
      throw Error(fmt::format("{}: no column '{}' for eval.group (columns: {})", path, config.eval.group,
                              list_columns(names)));
  }
  if (!config.data.valid_by.empty()) {
    map.split = find(config.data.valid_by);
    if (map.split < 0)
      throw Error(fmt::format("{}: no column '{}' for data.valid_by (columns: {})", path, config.data.valid_by,
                              list_columns(names)));
  }
  if (!config.eval.slice.empty()) {
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

std::int64_t numeric_bucket(const FeatureInfo& feature, double value) {
  if (feature.bucketizer == Bucketizer::kBoundaries) {
    return std::upper_bound(feature.boundaries.begin(), feature.boundaries.end(), value) - feature.boundaries.begin();
  }
  // log2: small values keep their integer part (counts 0 and 1 stay distinct), larger ones
  // share a bucket per power of two, as the Criteo winners bucketed counts.
  if (value < 1.0) return static_cast<std::int64_t>(std::floor(std::max(value, -1e15)));
  return static_cast<std::int64_t>(std::floor(std::log2(value))) + 2;
}

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options) {
  LineReader reader(path);
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
  std::unordered_map<std::string, std::uint32_t> slice_ids;
  data.keys.resize(schema.features.size());
  data.dense.resize(schema.num_dense);
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
      if (!parse_double(text, label) || (label != 0.0 && label != 1.0))
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

    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      const std::size_t column = map.feature[fi];
      const std::string_view text = fields[column];
      if (f.is_dense()) {
        double v = std::numeric_limits<double>::quiet_NaN();
        if (!trim(text).empty() && !parse_double(text, v))
          throw ParseError(location(column + 1, names), "numeric",
                           fmt::format("feature '{}' expects a number, found '{}'", f.name, text));
        data.dense[static_cast<std::size_t>(f.dense)].push_back(static_cast<float>(v));
        continue;
      }
      KeyColumn& out = data.keys[fi];
      const std::uint64_t seed = schema.tables[static_cast<std::size_t>(f.table)].seed;
      if (f.kind == FeatureKind::kNumeric) {
        double v = 0;
        std::int64_t bucket = kMissingBucket;
        if (!trim(text).empty()) {
          if (!parse_double(text, v))
            throw ParseError(location(column + 1, names), "numeric",
                             fmt::format("feature '{}' expects a number, found '{}'", f.name, text));
          bucket = numeric_bucket(f, v);
        }
        out.keys.push_back(hash_integer(bucket, seed));
      } else if (!f.has_values()) {
        out.keys.push_back(hash_value(text, seed));
      } else {
        // Values in order; empty tokens carry nothing. Sequences keep the most recent max_len,
        // multi-valued features the first max_len.
        const std::size_t first = out.keys.size();
        std::size_t start = 0;
        while (start <= text.size()) {
          std::size_t stop = text.find(f.separator, start);
          if (stop == std::string_view::npos) stop = text.size();
          if (stop > start) out.keys.push_back(hash_value(text.substr(start, stop - start), seed));
          start = stop + 1;
        }
        const std::size_t count = out.keys.size() - first;
        if (f.max_len > 0 && count > f.max_len) {
          if (f.kind == FeatureKind::kSequence)
            out.keys.erase(out.keys.begin() + static_cast<std::ptrdiff_t>(first),
                           out.keys.begin() + static_cast<std::ptrdiff_t>(first + count - f.max_len));
          else
            out.keys.resize(first + f.max_len);
        }
      }
      out.offsets.push_back(out.keys.size());
    }
    // Features attended together by DIN must be aligned value by value.
    for (const DinGroup& group : schema.din_groups) {
      const auto lead = static_cast<std::size_t>(group.keys[0]);
      const std::size_t expected = data.keys[lead].count(data.rows);
      for (std::size_t k = 1; k < group.keys.size(); ++k) {
        const auto fi = static_cast<std::size_t>(group.keys[k]);
        const std::size_t found = data.keys[fi].count(data.rows);
        if (found != expected)
          throw ParseError(location(map.feature[fi] + 1, names), "din_alignment",
                           fmt::format("'{}' has {} values but '{}', which it is attended with, has {}",
                                       schema.features[fi].name, found, schema.features[lead].name, expected));
      }
    }
    ++data.rows;
  }
  return data;
}

}  // namespace heed
