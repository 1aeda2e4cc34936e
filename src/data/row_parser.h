#pragma once
// Lines -> rows of a Dataset, for one file's columns: splits each line (row_cells.h), checks it
// (field lengths, UTF-8, the label), and hashes its features (RowEncoder). A bad line goes to
// the BadRowLog, which stops (fail) or counts and keeps it (skip); a rejected row leaves nothing
// behind in the Dataset. The whole-file loader (dataset_loader.h) and the streaming reader
// (row_stream.h) both parse through it, so a line reads the same either way.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/bad_rows.h"
#include "data/dataset.h"
#include "data/file_layout.h"
#include "data/line_reader.h"
#include "data/row_cells.h"
#include "data/row_encoder.h"

namespace heed {

// Where a record (a line, or with quoted CSV fields holding line breaks, several) came from and
// what the reader noticed about it.
struct LineInfo {
  std::uint64_t number = 0;  // its first line, from 1
  std::uint64_t lines = 1;   // the physical lines it spans
  std::uint64_t offset = 0;  // its first byte in the (decompressed) file
  std::uint64_t length = 0;  // its full length (an over-long record is passed cut short)
  bool too_long = false;
  bool unterminated = false;  // the file ends inside it
  const std::string* damage = nullptr;  // why the data stops inside it (damaged compressed data)
  UnclosedQuote unclosed;     // passed cut after the line where this quoted field opened
  bool may_hold_quotes = true;  // false: the reader saw that this CSV record holds no quote

  static LineInfo of(const LineReader& reader);
};

// What a file's rows hold where: found from its header or data.columns.
struct ColumnMap {
  std::size_t columns = 0;
  int label = -1, group = -1, split = -1, slice = -1, time = -1;
  std::vector<std::size_t> feature;  // per schema feature: its column (the first, when spread)
  // Per schema feature: every column of its name, in order, when the header repeats the name of
  // a multi or sequence feature's column (a sequence laid out one value per column); else empty.
  std::vector<std::vector<std::size_t>> spread;
  bool any_spread = false;
};

struct ParseScope {
  bool require_label = true;  // prediction files may omit the label column
  bool features_only = false; // scoring: the eval.group, eval.slice and data.valid_by columns may be absent
};

class RowParser {
 public:
  RowParser(const Config& config, const Schema& schema, const ParseScope& scope, BadRowLog& log);

  // Starts a file with these column names (throws heed::Error when a configured column is missing).
  void start_file(const std::string& path, std::vector<std::string> names);
  // The file's column names: read from its header (delimited files with data.header; throws
  // heed::Error when the file is empty or the header is bad), else the layout's.
  static std::vector<std::string> read_header(const FileLayout& layout, LineReader& reader);
  // Reads a header line into column names.
  static std::vector<std::string> header_names(const FileLayout& layout, const std::string& path,
                                               std::string_view line);
  void parse_line(const LineInfo& info, std::string_view line);  // one record
  // One record already split into its cells, one per column of start_file's names (a table in
  // memory: table_rows.h). `line` is the record as a delimited file would hold it: the hash
  // that carves validation rows reads it, and a rejected row is logged as it.
  void parse_cells(const LineInfo& info, std::string_view line, const std::vector<std::string_view>& cells);
  // The same, where some multi or sequence features' keys came hashed (text_table.h) and the
  // caller puts them in the Dataset: hashed_given as RowEncoder::add_row takes it (one entry per
  // feature). Only for a file whose header names each such feature's column once.
  void parse_cells(const LineInfo& info, std::string_view line, const std::vector<std::string_view>& cells,
                   const std::vector<std::size_t>& hashed_given);
  // The file's data ended early (damaged compressed data) after its last complete record.
  void data_ended_early(const LineInfo& after, const std::string& damage);

  const FileLayout& layout() const { return layout_; }
  Dataset& data() { return data_; }
  // Hands over the rows parsed so far and starts an empty Dataset.
  Dataset take();
  // Makes room for `rows` more rows (a streamed chunk's, before parsing it; the rest of a file):
  // one key per single-valued feature, as many per row of a multi or sequence feature as the
  // rows so far held (or, with none yet, the rows last taken), so the columns are not regrown
  // and copied as the rows arrive.
  void reserve(std::size_t rows);
  // Whether every column holds room for `rows` more rows at the keys per row so far.
  bool has_room(std::size_t rows) const;

 private:
  static std::string span(const LineInfo& info);
  bool read_label(const LineInfo& info, std::size_t column, std::string_view text) const;
  SourceLocation location(const LineInfo& info, std::size_t position) const;
  SourceLocation cell_location(const LineInfo& info, std::size_t column) const;
  void encode_row(const LineInfo& info, std::string_view line, const std::vector<std::size_t>* hashed_given = nullptr);
  void encode_feature(const LineInfo& info, std::size_t fi);
  void note_keys_per_row();  // keys_per_row_ from the rows parsed so far (none: unchanged)

  const Config& config_;
  const Schema& schema_;
  const ParseScope scope_;
  BadRowLog& log_;
  const FileLayout layout_;
  RowEncoder encoder_;
  const double label_negative_, label_positive_;
  std::optional<std::array<std::string, 2>> label_texts_;  // data.label_texts without their spaces
  Dataset data_;
  std::unordered_map<std::string, std::uint32_t> slice_ids_;
  // the current file
  std::string path_;
  std::optional<std::uint32_t> file_index_;  // path_'s index in data_.source_files, once a row is kept
  std::vector<std::string> names_;
  ColumnMap map_;
  std::unique_ptr<RowSplitter> splitter_;
  RowCells cells_;
  LineProblem problem_;
  std::vector<std::string_view> values_;     // a sparse multi feature's indices, a spread feature's cells
  std::vector<std::string_view> row_texts_;  // a delimited row's cell per feature
  std::vector<double> keys_per_row_;  // per feature: keys per row in the rows last taken (multi, sequence)
};

}  // namespace heed
