#pragma once
// A whole file read through RowStream into one Dataset, for tests that compare streaming with
// loading. A small window (3 chunks) so that even short files pass through several chunks.
#include <cstddef>
#include <filesystem>

#include "config/config.h"
#include "config/schema.h"
#include "data/bad_rows.h"
#include "data/dataset.h"
#include "data/row_stream.h"

namespace heed::testing {

inline Dataset stream_all(const std::filesystem::path& file, const Config& config, const Schema& schema,
                          int parser_threads, std::size_t chunk_lines, BadRowLog& log) {
  StreamOptions options;
  options.parser_threads = parser_threads;
  options.chunk_lines = chunk_lines;
  options.window = 3;
  RowStream stream({file}, config, schema, options, log);
  Dataset all, chunk;
  while (stream.next(chunk)) all.append(chunk);
  return all;
}

}  // namespace heed::testing
