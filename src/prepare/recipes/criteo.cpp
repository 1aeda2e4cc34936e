#include "prepare/recipes/criteo.h"

#include <array>

#include "core/error.h"
#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/delimited_file.h"
#include "prepare/recipes/source_layout.h"

namespace heed::recipes {
namespace {

constexpr std::size_t kIntegers = 13;
constexpr std::size_t kCategories = 26;
constexpr std::size_t kFieldCount = 1 + kIntegers + kCategories;

// Names of the 40 columns: label, I1..I13, C1..C26 (also the expected header, when one is given).
const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list = {"label"};
    for (std::size_t i = 1; i <= kIntegers; ++i) list.push_back(fmt::format("I{}", i));
    for (std::size_t i = 1; i <= kCategories; ++i) list.push_back(fmt::format("C{}", i));
    return list;
  }();
  return names;
}

const std::vector<Column>& output_columns() {
  static const std::vector<Column> columns = [] {
    std::vector<Column> list = {{"label", "1 if the ad was clicked, else 0"}};
    for (std::size_t i = 1; i <= kIntegers; ++i) {
      list.push_back({column_names()[i],
                      "integer feature as given (mostly counts; empty when missing)"});
    }
    for (std::size_t i = 1; i <= kCategories; ++i) {
      list.push_back({column_names()[kIntegers + i],
                      "categorical feature: a hashed value as given (empty when missing)"});
    }
    return list;
  }();
  return columns;
}

// Kaggle's files are TAB-separated without a header; copies exported by other tools are often
// comma-separated with a header line naming the columns. The first line tells which.
struct Dialect {
  char delimiter = '\t';
  bool header = false;
};

Dialect sniff(const std::filesystem::path& path) {
  LineReader reader(path);
  std::string_view first;
  if (!reader.next(first)) return {};
  Dialect dialect;
  dialect.delimiter = first.find('\t') != std::string_view::npos ? '\t' : ',';
  dialect.header = first.substr(0, 5) == "label";
  return dialect;
}

void check_header(const DelimitedFile& reader) {
  for (std::size_t c = 0; c < kFieldCount; ++c) {
    if (reader.field(c) != column_names()[c]) {
      reader.fail(c, "bad_header",
                  fmt::format("expected the header to name column {} '{}', found {}", c + 1,
                              column_names()[c], quoted(reader.field(c))));
    }
  }
}

void convert(const SourceFile& source, const HashSplit& split, SplitWriters& writers,
             BadLines& bad_lines) {
  const Dialect dialect = sniff(source.path);
  DelimitedFile reader(source.path, dialect.delimiter, column_names());
  if (dialect.header && reader.next()) check_header(reader);
  bad_lines.read_all(reader, [&] {
    const std::string_view label = reader.field(0);
    if (label != "0" && label != "1") {
      reader.fail(0, "bad_label", fmt::format("expected a label 0 or 1, found {}", quoted(label)));
    }
    for (std::size_t c = 1; c <= kIntegers; ++c) reader.check_number(c, /*allow_empty=*/true);
    for (std::size_t c = 1 + kIntegers; c < kFieldCount; ++c) {
      reader.cell_text(c, /*allow_empty=*/true);
    }
    // Identical lines fall on the same side, so no row is both trained on and tested.
    TsvWriter& out = writers[source.part ? *source.part : split.of(reader.line())];
    for (std::size_t c = 0; c < kFieldCount; ++c) out.cell(reader.field(c));
    out.end_row(label == "1");
  });
  if (reader.records_read() == (dialect.header ? 1u : 0u)) {
    reader.fail_empty("lines 'label TAB I1..I13 TAB C1..C26'");
  }
}

}  // namespace

PrepareSummary prepare_criteo(const CriteoOptions& options) {
  options.split.check();
  const auto sources = resolve_source(options.source, "Criteo",
                                      {{{"train.csv", "train.tsv"}, {"dev.csv", "valid.csv"}, {"test.csv"}}},
                                      {"train.txt"});
  create_output_folder(options.out);
  SplitWriters writers(options.out, output_columns());
  open_hashed_parts(sources, options.split, writers);
  BadLines bad_lines(options.errors, options.out);
  for (const SourceFile& source : sources) convert(source, options.split, writers, bad_lines);

  PrepareSummary summary;
  nlohmann::ordered_json json;
  json["dataset"] = "criteo";
  json["source"] = options.source.string();
  describe_split(json, sources, options.split, "the whole line");
  json["label"] = "the click label as given (0 or 1)";
  json["missing_values"] = "empty cells stay empty: a missing numeric, a missing category token";
  json["files"] = nlohmann::ordered_json::object();
  bad_lines.finish(summary, json);
  writers.finish(summary, json["files"]);
  json["columns"] = describe_columns(output_columns());
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace heed::recipes
