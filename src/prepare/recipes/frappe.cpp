#include "prepare/recipes/frappe.h"

#include <array>
#include <charconv>
#include <optional>

#include "core/error.h"
#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/delimited_file.h"

namespace heed::recipes {
namespace {

// The libFM files one-hot encode ten fields in this order, each over a contiguous block of
// indices whose sizes the dataset's README gives (user 957, item 4082, ...). Index 957 is
// therefore item 0. The TSV keeps each field's code within its block.
struct Field {
  std::string_view name;
  std::int64_t size;
};
constexpr std::array<Field, 10> kFields = {{{"user", 957},
                                            {"item", 4082},
                                            {"daytime", 7},
                                            {"weekday", 7},
                                            {"isweekend", 2},
                                            {"homework", 3},
                                            {"cost", 2},
                                            {"weather", 9},
                                            {"country", 80},
                                            {"city", 233}}};

constexpr std::array<Column, 11> kColumns = {{
    {"label", "1 for a positive libFM line (label 1), 0 for a sampled negative (-1 or 0)"},
    {"user", "user code 0..956 (libFM index)"},
    {"item", "app code 0..4081 (libFM index - 957)"},
    {"daytime", "time-of-day code 0..6"},
    {"weekday", "weekday code 0..6"},
    {"isweekend", "weekend code 0..1"},
    {"homework", "home / work / unknown code 0..2"},
    {"cost", "free / paid app code 0..1"},
    {"weather", "weather code 0..8"},
    {"country", "country code 0..79"},
    {"city", "city code 0..232"},
}};

struct Part {
  std::string_view source_name;  // frappe.<name>.libfm
  std::string_view output;
};
constexpr std::array<Part, 3> kParts = {
    {{"train", "train.tsv"}, {"validation", "valid.tsv"}, {"test", "test.tsv"}}};

// frappe.<name>.libfm, or its gzip-compressed copy; nothing when neither exists.
std::optional<std::filesystem::path> find_part(const std::filesystem::path& folder,
                                               std::string_view name) {
  const auto plain = folder / fmt::format("frappe.{}.libfm", name);
  if (std::filesystem::exists(plain)) return plain;
  auto gz = plain;
  gz += ".gz";
  if (std::filesystem::exists(gz)) return gz;
  return std::nullopt;
}

std::vector<std::string> libfm_columns() {
  std::vector<std::string> names = {"label"};
  for (const Field& field : kFields) names.emplace_back(field.name);
  return names;
}

TsvStats convert(const std::filesystem::path& source, const std::filesystem::path& target,
                 BadLines& bad_lines) {
  DelimitedFile reader(source, ' ', libfm_columns());
  TsvWriter writer(target, kColumns);
  std::array<std::int64_t, kFields.size()> field_start{};
  std::int64_t start = 0;
  for (std::size_t f = 0; f < kFields.size(); ++f) {
    field_start[f] = start;
    start += kFields[f].size;
  }
  std::array<std::int64_t, kFields.size()> codes{};
  bad_lines.read_all(reader, [&] {
    const std::string_view label = reader.field(0);
    const bool positive = label == "1" || label == "+1";
    if (!positive && label != "-1" && label != "0") {
      reader.fail(0, "bad_label", fmt::format("expected a label 1, -1 or 0, found {}", quoted(label)));
    }
    // Every field is checked before the row is written, so a skipped line writes nothing.
    for (std::size_t f = 0; f < kFields.size(); ++f) {
      const std::size_t column = f + 1;
      const std::string_view token = reader.field(column);
      const std::size_t colon = token.find(':');
      std::int64_t index = -1;
      const char* index_end = token.data() + (colon == std::string_view::npos ? token.size() : colon);
      const auto parsed = std::from_chars(token.data(), index_end, index);
      if (colon == std::string_view::npos || parsed.ec != std::errc() || parsed.ptr != index_end) {
        reader.fail(column, "bad_feature",
                    fmt::format("expected 'index:1', found {}", quoted(token)));
      }
      if (token.substr(colon + 1) != "1") {
        reader.fail(column, "bad_feature",
                    fmt::format("expected a one-hot value 1 after the index, found {}",
                                quoted(token)));
      }
      codes[f] = index - field_start[f];
      if (codes[f] < 0 || codes[f] >= kFields[f].size) {
        reader.fail(column, "index_out_of_field",
                    fmt::format("index {} is not a {} (indices {}..{} in field order user, item, "
                                "daytime, weekday, isweekend, homework, cost, weather, country, city)",
                                index, kFields[f].name, field_start[f],
                                field_start[f] + kFields[f].size - 1));
      }
    }
    writer.cell(positive ? "1" : "0");
    for (const std::int64_t code : codes) {
      char digits[24];
      const auto written = std::to_chars(digits, digits + sizeof digits, code);
      writer.cell(std::string_view(digits, static_cast<std::size_t>(written.ptr - digits)));
    }
    writer.end_row(positive);
  });
  if (reader.records_read() == 0) reader.fail_empty("libFM lines 'label index:1 ... (10 fields)'");
  return writer.finish();
}

}  // namespace

PrepareSummary prepare_frappe(const FrappeOptions& options) {
  if (!std::filesystem::is_directory(options.source)) {
    throw Error(fmt::format("Frappe folder '{}' does not exist; it should hold frappe.train.libfm, "
                            "frappe.validation.libfm and frappe.test.libfm",
                            options.source.string()));
  }
  std::array<std::optional<std::filesystem::path>, kParts.size()> sources;
  bool any = false;
  for (std::size_t p = 0; p < kParts.size(); ++p) {
    sources[p] = find_part(options.source, kParts[p].source_name);
    any = any || sources[p].has_value();
  }
  if (!any) {
    throw Error(fmt::format("{}: none of frappe.train.libfm, frappe.validation.libfm, "
                            "frappe.test.libfm is there",
                            options.source.string()));
  }
  create_output_folder(options.out);

  PrepareSummary summary;
  nlohmann::ordered_json json;
  json["dataset"] = "frappe";
  json["source"] = options.source.string();
  json["label"] = "libFM label 1 -> 1; -1 (or 0) -> 0";
  json["fields"] = "libFM index blocks in order user 957, item 4082, daytime 7, weekday 7, "
                   "isweekend 2, homework 3, cost 2, weather 9, country 80, city 233; each value "
                   "is the index minus its block's start";
  json["files"] = nlohmann::ordered_json::object();
  json["missing"] = nlohmann::ordered_json::array();
  BadLines bad_lines(options.errors, options.out);
  std::size_t* rows[] = {&summary.train_rows, &summary.valid_rows, &summary.test_rows};
  for (std::size_t p = 0; p < kParts.size(); ++p) {
    if (!sources[p]) {
      json["missing"].push_back(fmt::format("frappe.{}.libfm", kParts[p].source_name));
      continue;
    }
    const auto target = options.out / kParts[p].output;
    const TsvStats stats = convert(*sources[p], target, bad_lines);
    *rows[p] = stats.rows;
    auto entry = describe_file(stats);
    entry["from"] = sources[p]->filename().string();
    json["files"][std::string(kParts[p].output)] = entry;
    summary.files.push_back(target.string());
  }
  bad_lines.finish(summary, json);
  if (!sources[0])
    summary.notes.push_back(fmt::format(
        "no train.tsv: {} holds no frappe.train.libfm. Train on valid.tsv, carving a tenth of it for early "
        "stopping: heed train examples/frappe/config.toml --set data.dir={} --set data.train=valid.tsv --set "
        "data.valid= --out runs/frappe",
        options.source.string(), options.out.string()));
  json["columns"] = describe_columns(kColumns);
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace heed::recipes
