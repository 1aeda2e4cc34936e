#include "data/quantile_buckets.h"

#include <algorithm>

#include "core/error.h"
#include "data/dataset_loader.h"
#include "data/file_layout.h"
#include "data/line_reader.h"
#include "data/row_cells.h"
#include "data/row_encoder.h"

namespace heed {

void ReservoirSample::add(double value) {
  ++seen_;
  if (values_.size() < capacity_) {
    values_.push_back(value);
    return;
  }
  const std::uint64_t slot = rng_.below(seen_);
  if (slot < capacity_) values_[slot] = value;
}

std::vector<double> quantile_edges(std::vector<double> values, std::size_t buckets) {
  std::vector<double> edges;
  if (values.empty() || buckets < 2) return edges;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  for (std::size_t k = 1; k < buckets; ++k) {
    const double edge = values[k * n / buckets];
    if (edge > values.front() && (edges.empty() || edge > edges.back())) edges.push_back(edge);
  }
  return edges;
}

Config with_quantile_boundaries(const Config& config, const std::vector<std::filesystem::path>& train_files) {
  std::vector<std::size_t> pending;  // indices into config.features
  for (std::size_t i = 0; i < config.features.size(); ++i)
    if (config.features[i].bucketize == Bucketize::kQuantile && config.features[i].boundaries.empty()) pending.push_back(i);
  if (pending.empty()) return config;

  const FileLayout layout = file_layout(config.data);
  std::vector<ReservoirSample> samples;
  for (std::size_t i : pending) samples.emplace_back(kQuantileSampleSize, mix64(0x9A4E + i));
  RowCells cells;
  LineProblem problem;
  for (const auto& path : train_files) {
    LineReader reader(path, line_reader_options(config.data));
    std::vector<std::string> names = layout.columns;
    std::string_view line;
    if (layout.header) {
      if (!reader.next(line)) continue;  // the loader reports the empty file
      FieldSplitter splitter(layout.delimiter, layout.quoting);
      std::vector<std::string_view> fields;
      std::size_t bad_column = 0;
      splitter.split(line, fields, bad_column);
      names.assign(fields.begin(), fields.end());
    }
    std::vector<std::size_t> columns;
    for (std::size_t i : pending) {
      const auto it = std::find(names.begin(), names.end(), config.features[i].column);
      if (it == names.end())
        throw Error(fmt::format("{}: no column '{}' for feature '{}' {}", reader.path(), config.features[i].column,
                                config.features[i].name, describe_columns(names, layout)));
      columns.push_back(static_cast<std::size_t>(it - names.begin()));
    }
    RowSplitter splitter(layout, names.size());
    while (reader.next(line)) {
      if (line.empty() || reader.line_too_long() || reader.unclosed_quote() || !splitter.split(line, cells, problem))
        continue;
      for (std::size_t k = 0; k < columns.size(); ++k) {
        if (cells.count(columns[k]) != 1) continue;
        double v = 0;
        if (parse_number(cells.begin(columns[k])->value, v)) samples[k].add(v);
      }
    }
  }
  Config out = config;
  for (std::size_t k = 0; k < pending.size(); ++k) {
    FeatureConfig& f = out.features[pending[k]];
    if (samples[k].seen() == 0)
      throw Error(fmt::format("feature '{}' (bucketize = \"quantile\"): column '{}' holds no numbers in the training "
                              "data, so there is nothing to compute buckets from",
                              f.name, f.column));
    f.boundaries = quantile_edges(samples[k].values(), static_cast<std::size_t>(f.quantiles));
  }
  return out;
}

}  // namespace heed
