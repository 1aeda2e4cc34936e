#pragma once
// Rows held in memory, column by column, with every raw value already hashed to its key.
// This is the form training iterates over many times; it is built once per file by
// load_dataset (dataset_loader.h).
#include <cstdint>
#include <string>
#include <vector>

#include "core/huge_pages.h"

namespace heed {

// The keys of one feature for every row: row r owns keys[offsets[r] .. offsets[r+1]).
// Both are column vectors (core/huge_pages.h): a large file's keys fill hundreds of megabytes.
struct KeyColumn {
  ColumnVector<std::uint64_t> offsets{0};
  ColumnVector<std::uint64_t> keys;

  std::size_t count(std::size_t row) const { return offsets[row + 1] - offsets[row]; }
};

struct Dataset {
  std::size_t rows = 0;
  ColumnVector<float> labels;            // empty when the file had no label column
  ColumnVector<std::uint64_t> groups;    // eval.group's hashed value per row; empty when none
  ColumnVector<std::uint64_t> split_keys;// stable per-row hash deciding validation carves
  ColumnVector<double> times;            // data.valid_by_time's value per row; empty when none
  ColumnVector<std::uint32_t> slices;    // eval.slice's value per row, as an index into slice_names
  std::vector<std::string> slice_names; // eval.slice's distinct values, in first-seen order
  std::vector<KeyColumn> keys;          // per feature; empty columns for dense features
  std::vector<ColumnVector<float>> dense;// per dense input: the raw value (NaN: missing)
  // Where each row came from (for messages): its file, as an index into source_files, and
  // its line number there. Empty when the rows were not read from files.
  std::vector<std::string> source_files;
  ColumnVector<std::uint32_t> source_file;
  ColumnVector<std::uint64_t> source_lines;

  bool has_labels() const { return !labels.empty(); }
  // "file:line" of row r, or "row N" when its source is not known.
  std::string source_of(std::size_t r) const;
  // Index of `path` in source_files, adding it when new.
  std::uint32_t source_file_index(const std::string& path);
  // The subset of rows `selected`, in that order.
  Dataset select(const std::vector<std::size_t>& selected) const;
  // Appends `other`'s rows `selected` (all when null), in that order; its slice values are
  // matched to this one's by name. Both must come from the same schema.
  void append(const Dataset& other, const std::vector<std::size_t>* selected = nullptr);

 private:
  void append_all(const Dataset& other, const std::vector<std::uint32_t>& slice_map,
                  const std::vector<std::uint32_t>& file_map);
};

}  // namespace heed
