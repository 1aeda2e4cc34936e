#include "data/file_layout.h"

#include <fmt/format.h>

#include "core/error.h"

namespace heed {

FileLayout file_layout(const DataConfig& data) {
  FileLayout layout;
  if (data.format == DataFormat::kLibsvm || data.format == DataFormat::kLibffm) {
    layout.kind = data.format == DataFormat::kLibsvm ? FileLayout::Kind::kLibsvm : FileLayout::Kind::kLibffm;
    layout.header = false;
    if (data.columns.empty())
      throw Error(fmt::format("data.format = \"{}\" needs data.columns: a name for each field, in field order "
                              "(features read fields by these names)", choice_name(data.format)));
    layout.columns.push_back(data.label);
    layout.columns.insert(layout.columns.end(), data.columns.begin(), data.columns.end());
    layout.fields_by_position = data.sparse_fields != SparseFields::kRanges;
    if (layout.kind == FileLayout::Kind::kLibsvm && !layout.fields_by_position) {
      if (data.field_starts.size() != data.columns.size())
        throw Error(fmt::format("data.sparse_fields = \"ranges\" needs data.field_starts with one start per field "
                                "({} fields named in data.columns, {} starts)",
                                data.columns.size(), data.field_starts.size()));
      layout.field_starts = data.field_starts;
    }
    return layout;
  }
  layout.quoting = data.format == DataFormat::kCsv;
  layout.delimiter = data.format == DataFormat::kCsv ? ',' : '\t';
  if (!data.delimiter.empty()) layout.delimiter = data.delimiter[0];
  layout.header = data.header;
  layout.columns = data.columns;
  if (data.format == DataFormat::kCriteo) {
    layout.header = false;
    if (layout.columns.empty()) {
      layout.columns.push_back(data.label);
      for (int i = 1; i <= 13; ++i) layout.columns.push_back(fmt::format("I{}", i));
      for (int i = 1; i <= 26; ++i) layout.columns.push_back(fmt::format("C{}", i));
    }
  }
  if (!layout.header && layout.columns.empty())
    throw Error("data.header = false needs data.columns to name the columns");
  return layout;
}

std::string describe_columns(const std::vector<std::string>& names, const FileLayout& layout) {
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  std::string text = "(columns: " + list + ")";
  if (names.size() != 1 || layout.sparse()) return text;
  struct Other {
    char delimiter;
    const char* looks;
    const char* format;
  };
  for (const Other& other : {Other{',', "comma-separated", "csv"}, Other{'\t', "TAB-separated", "tsv"}}) {
    if (other.delimiter == layout.delimiter || names[0].find(other.delimiter) == std::string::npos) continue;
    text += fmt::format("; the line has one column for data.format's delimiter '{}', but this looks {}: set "
                        "data.format = \"{}\"",
                        layout.delimiter == '\t' ? "TAB" : std::string(1, layout.delimiter), other.looks, other.format);
    break;
  }
  return text;
}

}  // namespace heed
