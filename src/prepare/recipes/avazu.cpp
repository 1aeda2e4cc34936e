#include "prepare/recipes/avazu.h"

#include <array>
#include <chrono>

#include "core/error.h"
#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/delimited_file.h"
#include "prepare/recipes/source_layout.h"

namespace heed::recipes {
namespace {

// Kaggle's training columns, in order (the header line, when a file has one).
const std::vector<std::string> kSourceColumns = {
    "id",        "click",        "hour",         "C1",          "banner_pos",  "site_id",
    "site_domain", "site_category", "app_id",     "app_domain",  "app_category", "device_id",
    "device_ip", "device_model", "device_type",  "device_conn_type", "C14",   "C15",
    "C16",       "C17",          "C18",          "C19",         "C20",         "C21"};
constexpr std::size_t kId = 0, kClick = 1, kHour = 2, kFirstCopied = 3;

// Output: label, the two parts of the hour, then every source column after `hour` as given.
const std::vector<Column>& output_columns() {
  static const std::vector<Column> columns = [] {
    std::vector<Column> list = {
        {"label", "1 if the ad was clicked (click), else 0"},
        {"hour_of_day", "00..23, from hour (YYMMDDHH, the log's own time zone)"},
        {"weekday", "Mon..Sun, the day of the week of hour's date"},
    };
    for (std::size_t c = kFirstCopied; c < kSourceColumns.size(); ++c) {
      list.push_back({kSourceColumns[c], "as given (anonymized categorical value)"});
    }
    return list;
  }();
  return columns;
}

constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};

struct Hour {
  std::string_view hour_of_day;
  std::string_view weekday;
};

// YYMMDDHH (20YY) -> "HH" and the weekday's name; anything else is an error at that column.
Hour split_hour(const DelimitedFile& reader) {
  const std::string_view text = reader.field(kHour);
  const auto digit = [&](std::size_t i) { return static_cast<unsigned>(text[i] - '0'); };
  bool ok = text.size() == 8;
  for (std::size_t i = 0; ok && i < text.size(); ++i) ok = text[i] >= '0' && text[i] <= '9';
  if (ok) {
    using namespace std::chrono;
    const year_month_day date{year{2000 + static_cast<int>(digit(0) * 10 + digit(1))},
                              month{digit(2) * 10 + digit(3)}, day{digit(4) * 10 + digit(5)}};
    const unsigned hour = digit(6) * 10 + digit(7);
    if (date.ok() && hour < 24) {
      return {text.substr(6, 2), kWeekdays[weekday{sys_days{date}}.c_encoding()]};
    }
  }
  reader.fail(kHour, "bad_hour",
              fmt::format("expected an hour YYMMDDHH (e.g. 14102100), found {}", quoted(text)));
}

void check_header(const DelimitedFile& reader) {
  for (std::size_t c = 0; c < kSourceColumns.size(); ++c) {
    if (reader.field(c) != kSourceColumns[c]) {
      reader.fail(c, "bad_header",
                  fmt::format("expected the header to name column {} '{}', found {}", c + 1,
                              kSourceColumns[c], quoted(reader.field(c))));
    }
  }
}

bool starts_with_header(const std::filesystem::path& path) {
  LineReader reader(path);
  std::string_view first;
  return reader.next(first) && first.substr(0, 3) == "id,";
}

void convert(const SourceFile& source, const HashSplit& split, SplitWriters& writers,
             BadLines& bad_lines) {
  // Kaggle's file starts with a header; the heads' dev and test files do not. A header that
  // names other columns stops the recipe even under skip: every line after it would be misread.
  const std::size_t header_lines = starts_with_header(source.path) ? 1 : 0;
  DelimitedFile reader(source.path, ',', kSourceColumns);
  if (header_lines == 1 && reader.next()) check_header(reader);
  bad_lines.read_all(reader, [&] {
    const std::string_view click = reader.field(kClick);
    if (click != "0" && click != "1") {
      reader.fail(kClick, "bad_label", fmt::format("expected click 0 or 1, found {}", quoted(click)));
    }
    reader.cell_text(kId, /*allow_empty=*/false);
    const Hour hour = split_hour(reader);
    // Every cell is checked before the first is written, so a skipped line writes nothing.
    for (std::size_t c = kFirstCopied; c < kSourceColumns.size(); ++c) {
      reader.cell_text(c, /*allow_empty=*/true);
    }
    // The impression id decides the side: the same impression never lands in two files.
    TsvWriter& out = writers[source.part ? *source.part : split.of(reader.field(kId))];
    out.cell(click);
    out.cell(hour.hour_of_day);
    out.cell(hour.weekday);
    for (std::size_t c = kFirstCopied; c < kSourceColumns.size(); ++c) out.cell(reader.field(c));
    out.end_row(click == "1");
  });
  if (reader.records_read() == header_lines) {
    reader.fail_empty("CSV lines 'id,click,hour,C1,banner_pos,...'");
  }
}

}  // namespace

PrepareSummary prepare_avazu(const AvazuOptions& options) {
  options.split.check();
  const auto sources = resolve_source(options.source, "Avazu",
                                      {{{"train.csv"}, {"dev.csv", "valid.csv"}, {"test.csv"}}},
                                      {"train"});
  create_output_folder(options.out);
  SplitWriters writers(options.out, output_columns());
  open_hashed_parts(sources, options.split, writers);
  BadLines bad_lines(options.errors, options.out);
  for (const SourceFile& source : sources) convert(source, options.split, writers, bad_lines);

  PrepareSummary summary;
  nlohmann::ordered_json json;
  json["dataset"] = "avazu";
  json["source"] = options.source.string();
  describe_split(json, sources, options.split, "the impression id");
  json["label"] = "click as given (0 or 1)";
  json["dropped"] = "id (unique per impression: no signal, only memorization); hour (replaced by "
                    "hour_of_day and weekday, so test days look like training days)";
  json["files"] = nlohmann::ordered_json::object();
  bad_lines.finish(summary, json);
  writers.finish(summary, json["files"]);
  json["columns"] = describe_columns(output_columns());
  summary.files.push_back(write_prepare_json(options.out, json).string());
  return summary;
}

}  // namespace heed::recipes
