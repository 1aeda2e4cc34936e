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

namespace {

bool carves_by_row(const DataConfig& d) {
  return d.valid.empty() && d.valid_fraction > 0 && d.valid_by.empty() && d.valid_by_time.empty();
}

// Per feature, the table's keys hashed for it (null: none), after checking that they were made
// by this schema's definition of the feature and that every feature reading a hashed column
// has them: otherwise a hashed row's empty cell would read as no values.
std::vector<const HashedColumn*> hashed_by_feature(const TextTable& table, const Schema& schema) {
  std::vector<const HashedColumn*> by_feature(schema.features.size(), nullptr);
  std::vector<bool> hashed_column(table.columns.size(), false);
  for (const HashedColumn& h : table.hashed) {
    HEED_CHECK(h.column < table.columns.size() && h.keys.offsets.size() == table.rows + 1 &&
                   h.keys.offsets.back() == h.keys.keys.size() && h.given.size() == table.rows,
               "{}: hashed values of column {} do not fit the table (read already?)", table.name, h.column);
    HEED_CHECK(std::count(table.columns.begin(), table.columns.end(), table.columns[h.column]) == 1,
               "{}: column '{}' came hashed but its name repeats", table.name, table.columns[h.column]);
    hashed_column[h.column] = true;
    const auto f = std::find_if(schema.features.begin(), schema.features.end(),
                                [&](const FeatureInfo& info) { return info.name == h.feature; });
    const bool same = f != schema.features.end() && f->has_values() && f->column == table.columns[h.column] &&
                      f->kind == h.kind && schema.tables[static_cast<std::size_t>(f->table)].seed == h.seed &&
                      f->padding == h.padding && f->separator == h.separator && f->max_len == h.max_len;
    if (!same)
      throw Error(fmt::format("{}: its lists were hashed for a feature '{}' this model does not define the same "
                              "way; make the table again from the DataFrame for this model",
                              table.name, h.feature));
    by_feature[static_cast<std::size_t>(f - schema.features.begin())] = &h;
  }
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const auto column = std::find(table.columns.begin(), table.columns.end(), schema.features[fi].column);
    if (column != table.columns.end() && hashed_column[static_cast<std::size_t>(column - table.columns.begin())] &&
        !by_feature[fi])
      throw Error(fmt::format("{}: feature '{}' reads column '{}', whose lists were hashed for other features "
                              "only; make the table again from the DataFrame for this model",
                              table.name, schema.features[fi].name, schema.features[fi].column));
  }
  return by_feature;
}

}  // namespace

bool table_lines_read(const Config& config, bool split_keys_read) {
  return (split_keys_read && carves_by_row(config.data)) || config.data.on_error == OnError::kSkip;
}

namespace {

// `movable`: the same table, whose hashed keys may be moved into the Dataset.
Dataset read_table(const TextTable& table, TextTable* movable, const Config& config, const Schema& schema,
                   const LoadOptions& options) {
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
  const bool build_line =
      !options.features_only && ((options.split_keys_read && carves_by_row(config.data)) || log.skipping());
  HEED_CHECK(!build_line || table.hashed.empty(), "{}: its lists came hashed, without the text its lines need",
             table.name);
  const std::vector<const HashedColumn*> hashed = hashed_by_feature(table, schema);
  // Per feature, the values this row gave, for the hashed features (their keys are taken whole
  // at the end).
  std::vector<std::size_t> row_given(table.hashed.empty() ? 0 : schema.features.size(), RowEncoder::kNotHashed);
  std::vector<std::string_view> row(table.columns.size());
  std::string line;
  LineInfo info;
  // The cells lie column by column, a stream of views and one of text per column: more streams
  // than the hardware prefetcher follows when read row by row. So a block of rows is first
  // copied row-major, each column's views read in order, its texts asked for on the way; the
  // block's rows then read from the cache.
  constexpr std::size_t kBlockRows = 256;
  const std::size_t columns = table.columns.size();
  std::vector<std::string_view> block(kBlockRows * columns);
  for (std::size_t first = 0; first < table.rows; first += kBlockRows) {
    const std::size_t block_rows = std::min(kBlockRows, table.rows - first);
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string_view* views = table.cells[c].data() + first;
      for (std::size_t k = 0; k < block_rows; ++k) {
        __builtin_prefetch(views[k].data());
        block[k * columns + c] = views[k];
      }
    }
    for (std::size_t k = 0; k < block_rows; ++k) {
      const std::size_t r = first + k;
      line.clear();
      bool plain = true;
      for (std::size_t c = 0; c < columns; ++c) {
        row[c] = block[k * columns + c];
        if (!build_line) {
          if (!table.plain_ascii) plain &= is_plain_ascii(row[c]);
          continue;
        }
        if (c) line.push_back('\t');
        line.append(row[c]);
      }
      // A row that is not plain ASCII text (a NUL byte, or any other byte past ASCII) has its
      // line built all the same: the parser checks it as a file's line, so a NUL byte is the same
      // error (or rejected and counted under data.on_error = "skip") wherever the line would be
      // unread.
      if (!plain)
        for (std::size_t c = 0; c < columns; ++c) {
          if (c) line.push_back('\t');
          line.append(row[c]);
        }
      info.number = r + 1;
      info.offset = 0;
      info.length = line.size();
      for (std::size_t fi = 0; fi < row_given.size(); ++fi)
        if (const HashedColumn* h = hashed[fi]) row_given[fi] = h->given[r];
      parser.parse_cells(info, line, row, row_given);
      // As a file's: room for the other rows at the keys per row so far, so the columns are not
      // regrown and copied.
      if (r + 1 == kRowsBeforeReserving) parser.reserve(table.rows - r - 1);
    }
  }
  finish(log, options, table.name);
  Dataset data = parser.take();
  if (table.hashed.empty()) return data;
  // Every row was kept: a table's lists are hashed only where a bad row stops the read.
  HEED_CHECK(data.rows == table.rows, "{}: {} of {} rows read, with lists that came hashed", table.name, data.rows,
             table.rows);
  for (std::size_t fi = 0; fi < hashed.size(); ++fi)
    if (const HashedColumn* h = hashed[fi]) {
      if (movable)
        data.keys[fi] = std::move(movable->hashed[static_cast<std::size_t>(h - table.hashed.data())].keys);
      else
        data.keys[fi] = h->keys;
    }
  return data;
}

}  // namespace

Dataset load_table(const TextTable& table, const Config& config, const Schema& schema, const LoadOptions& options) {
  return read_table(table, nullptr, config, schema, options);
}

Dataset load_table(TextTable&& table, const Config& config, const Schema& schema, const LoadOptions& options) {
  return read_table(table, &table, config, schema, options);
}

}  // namespace heed
