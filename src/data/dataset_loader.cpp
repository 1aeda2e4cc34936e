#include "data/dataset_loader.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "data/bad_rows.h"
#include "data/row_parser.h"
#include "data/row_stream.h"
#include "data/text_table.h"
#include "data/utf8.h"

namespace heed {
namespace {

DataConfig policy_of(const Config& config, const LoadOptions& options) {
  DataConfig data = config.data;
  if (options.never_skip) data.on_error = OnError::kFail;
  return data;
}

ParseScope scope_of(const LoadOptions& options) { return ParseScope{options.require_label, options.features_only}; }

// Rows read before the rest of a file's rows are estimated from their length, and between
// checks that the columns still have room for the next ones.
constexpr std::uint64_t kRowsBeforeReserving = 4096;

// Reads one file (or text) through `parser`: its header, then every line whose first byte is in
// `range` (the lines before it are read past unparsed: another reader's). Once a few thousand
// lines are parsed, the columns are reserved for the rows the rest of the range holds at their
// length (the range's bytes on disk over the bytes per line, and 5% to spare), so a large
// file's rows are not copied over and over as the columns grow: a column that outgrows its room
// is copied whole, and its new memory faulted in again. Where the estimate falls short (shorter
// lines later on, a compressed file's bytes on disk), it is made again before a column runs out.
void read_file(LineReader& reader, RowParser& parser, std::uint64_t file_bytes, const ByteRange& range = {}) {
  const FileLayout& layout = parser.layout();
  parser.start_file(reader.path(), RowParser::read_header(layout, reader));
  std::string_view line;
  LineInfo last;
  bool damage_seen = false;
  const std::uint64_t last_byte = std::min(file_bytes, range.end);
  std::uint64_t checked_at = 0;  // where the last kRowsBeforeReserving lines began
  std::uint64_t lines = 0;
  while (reader.next(line)) {
    if (reader.line_offset() < range.begin) continue;
    if (reader.line_offset() >= range.end) return;  // the rest is the next reader's, damage included
    last = LineInfo::of(reader);
    damage_seen = damage_seen || last.damage;
    if (lines == 0) checked_at = reader.line_offset();
    parser.parse_line(last, line);
    if (++lines % kRowsBeforeReserving != 0) continue;
    if (!parser.has_room(kRowsBeforeReserving)) {
      // The latest lines' length says best what the rest hold. At least half the rows so far
      // more, so that a file whose lines keep shortening is copied a bounded number of times.
      const double bytes_per_line = static_cast<double>(reader.bytes_read() - checked_at) / kRowsBeforeReserving;
      const double rest = static_cast<double>(last_byte > reader.bytes_read() ? last_byte - reader.bytes_read() : 0);
      const auto estimate = static_cast<std::size_t>(rest / bytes_per_line * 1.05);
      parser.reserve(std::max<std::size_t>(estimate, lines / 2) + kRowsBeforeReserving);
    }
    checked_at = reader.bytes_read();
  }
  if (!reader.damage().empty() && !damage_seen) parser.data_ended_early(last, reader.damage());
}

void finish(const BadRowLog& log, const LoadOptions& options, const std::string& what) {
  if (options.report) *options.report = LoadReport{log.rows(), log.skipped(), log.by_reason(), log.rejects_path()};
  if (log.skipped() == 0) return;
  std::fprintf(stderr, "heed: %s: %s\n", what.c_str(), log.summary().c_str());
  log.check_fraction();
}

}  // namespace

std::filesystem::path rejects_path(const Config& config, const LoadOptions& options) {
  std::filesystem::path dir = !config.data.rejects_dir.empty() ? std::filesystem::path(config.data.rejects_dir)
                                                                : options.rejects_dir;
  return dir.empty() ? std::filesystem::path(options.rejects_name) : dir / options.rejects_name;
}

LineReader::Options line_reader_options(const DataConfig& data) {
  const FileLayout layout = file_layout(data);
  return LineReader::Options{static_cast<std::size_t>(data.max_line_bytes), /*report_damage=*/true,
                             /*quoted_records=*/layout.quoting, layout.delimiter};
}

Dataset load_dataset(const std::filesystem::path& path, const Config& config, const Schema& schema,
                     const LoadOptions& options) {
  return load_dataset(std::vector<std::filesystem::path>{path}, config, schema, options);
}

namespace {

// With data.parser_threads above 1: the streaming reader's threads (one reads, the others parse
// chunks of lines), the chunks put together in file order. The same rows, bad rows and messages
// as one thread's read.
Dataset load_on_parser_threads(const std::vector<std::filesystem::path>& paths, const Config& config,
                               const Schema& schema, const LoadOptions& options, const std::string& what) {
  Config policy = config;
  policy.data = policy_of(config, options);
  BadRowLog log(policy.data, rejects_path(config, options));
  StreamOptions stream_options;
  stream_options.parser_threads = static_cast<int>(config.data.parser_threads);
  stream_options.scope = scope_of(options);
  stream_options.share = options.share;
  BadRowLog unused = BadRowLog::in_memory(policy.data);
  Dataset all = RowParser(policy, schema, scope_of(options), unused).take();  // the columns, no rows
  {
    RowStream stream(paths, policy, schema, stream_options, log);
    Dataset chunk;
    while (stream.next(chunk)) all.append(chunk);
  }
  finish(log, options, what);
  return all;
}

}  // namespace

Dataset load_dataset(const std::vector<std::filesystem::path>& paths, const Config& config, const Schema& schema,
                     const LoadOptions& options) {
  std::string names;
  for (const auto& path : paths) names += (names.empty() ? "" : ", ") + path.string();
  const std::string what = paths.size() == 1 ? names : fmt::format("{} files ({})", paths.size(), names);
  if (config.data.parser_threads > 1) return load_on_parser_threads(paths, config, schema, options, what);
  BadRowLog log(policy_of(config, options), rejects_path(config, options));
  RowParser parser(config, schema, scope_of(options), log);
  const std::vector<ByteRange> ranges = ranges_of(paths, options.share);
  for (std::size_t f = 0; f < paths.size(); ++f) {
    if (ranges[f].empty()) continue;  // another reader's file
    LineReader reader(paths[f], line_reader_options(config.data));
    std::error_code size_error;
    const std::uintmax_t size = std::filesystem::file_size(paths[f], size_error);
    read_file(reader, parser, size_error ? 0 : static_cast<std::uint64_t>(size), ranges[f]);
  }
  finish(log, options, what);
  return parser.take();
}

Dataset load_dataset(LineReader& reader, const Config& config, const Schema& schema, const LoadOptions& options) {
  BadRowLog log(policy_of(config, options), rejects_path(config, options));
  RowParser parser(config, schema, scope_of(options), log);
  read_file(reader, parser, 0);
  finish(log, options, reader.path());
  return parser.take();
}

Dataset load_table(const TextTable& table, const Config& config, const Schema& schema, const LoadOptions& options) {
  HEED_CHECK(table.cells.size() == table.columns.size(), "{}: {} columns of cells for {} names", table.name,
             table.cells.size(), table.columns.size());
  for (const auto& column : table.cells)
    HEED_CHECK(column.size() == table.rows, "{}: a column of {} cells in a table of {} rows", table.name,
               column.size(), table.rows);
  // The table's own columns, read as tab-separated cells: a DataFrame has no file layout.
  Config as_tsv = config;
  as_tsv.data.format = DataFormat::kTsv;
  as_tsv.data.delimiter.clear();
  as_tsv.data.header = true;
  as_tsv.data.columns.clear();
  BadRowLog log(policy_of(as_tsv, options), rejects_path(as_tsv, options));
  RowParser parser(as_tsv, schema, scope_of(options), log);
  parser.start_file(table.name, table.columns);
  // The row's TSV line is built only where something reads it: the hash of the validation
  // carve by row, and the rejected-lines file under skip. Elsewhere every row's split key is
  // the same, unread.
  const DataConfig& d = config.data;
  const bool carve_by_row = d.valid.empty() && d.valid_fraction > 0 && d.valid_by.empty() && d.valid_by_time.empty();
  const bool build_line = !options.features_only && (carve_by_row || log.skipping());
  std::vector<std::string_view> row(table.columns.size());
  std::string line;
  LineInfo info;
  // The cells lie column by column: a stream of views and one of text per column, more streams
  // than the hardware prefetcher follows, so each column's next rows are asked for ahead.
  constexpr std::size_t kViewsAhead = 16, kTextAhead = 4;
  for (std::size_t r = 0; r < table.rows; ++r) {
    if (r + kViewsAhead < table.rows)
      for (const auto& column : table.cells) __builtin_prefetch(&column[r + kViewsAhead]);
    if (r + kTextAhead < table.rows)
      for (const auto& column : table.cells) {
        const std::string_view later = column[r + kTextAhead];
        __builtin_prefetch(later.data());
        if (later.size() > 64) __builtin_prefetch(later.data() + 64);
      }
    line.clear();
    bool plain = true;
    for (std::size_t c = 0; c < row.size(); ++c) {
      row[c] = table.cells[c][r];
      if (!build_line) {
        if (!table.plain_ascii) plain &= is_plain_ascii(row[c]);
        continue;
      }
      if (c) line.push_back('\t');
      line.append(row[c]);
    }
    // A row that is not plain ASCII text (a NUL byte, or any other byte past ASCII) has its line
    // built all the same: the parser checks it as a file's line, so a NUL byte is the same error
    // (or rejected and counted under data.on_error = "skip") wherever the line would be unread.
    if (!plain)
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c) line.push_back('\t');
        line.append(row[c]);
      }
    info.number = r + 1;
    info.offset = 0;
    info.length = line.size();
    parser.parse_cells(info, line, row);
    // As a file's: room for the other rows at the keys per row so far, so the columns are not
    // regrown and copied.
    if (r + 1 == kRowsBeforeReserving) parser.reserve(table.rows - r - 1);
  }
  finish(log, options, table.name);
  return parser.take();
}

}  // namespace heed
