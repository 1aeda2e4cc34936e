#pragma once
// How the lines of a data file hold their columns, resolved from data.*: the presets and
// defaults applied once, so every reader sees the same columns for the same config.
//
//   tsv, csv   one cell per column; column names from the header line or data.columns
//   criteo     TAB, no header; columns label, I1..I13, C1..C26 (data.columns may rename them)
//   libsvm     `label idx:val idx:val ...`, whitespace-separated (libFM files are the same)
//   libffm     `label field:idx:val ...`
//
// Sparse formats (libsvm, libffm) become columns too: column 0 is the label (named data.label),
// then one column per field named by data.columns. A field's cells are its idx:val pairs: the
// index is the value categorical, multi and sequence features hash; the number is what numeric
// features read.
#include <string>
#include <vector>

#include "config/config.h"

namespace heed {

struct FileLayout {
  enum class Kind { kDelimited, kLibsvm, kLibffm };
  Kind kind = Kind::kDelimited;
  char delimiter = '\t';
  bool quoting = false;   // csv: double-quoted fields
  bool header = true;     // delimited files: the first line names the columns
  std::vector<std::string> columns;  // names when not read from a header (sparse: label first)
  // libsvm field assignment
  bool fields_by_position = true;
  std::vector<std::int64_t> field_starts;

  bool sparse() const { return kind != Kind::kDelimited; }
  std::size_t fields() const { return columns.size() - 1; }  // sparse formats: columns after the label
};

// Throws heed::Error when data.* does not describe a readable layout (e.g. a sparse format
// without field names).
FileLayout file_layout(const DataConfig& data);

// "(columns: a, b, c)" for a message about a missing column; when the line split into one
// column that holds another delimiter, it also says which data.format reads it ("this looks
// comma-separated: set data.format = \"csv\""), since the names listed would otherwise show the
// very column the message calls missing.
std::string describe_columns(const std::vector<std::string>& names, const FileLayout& layout);

}  // namespace heed
