#pragma once
// A split's files streamed as parsed chunks, for data too large to hold in memory. One thread
// reads and decompresses lines into chunks of raw text; a pool of parser threads turns each
// chunk into a Dataset (RowParser, exactly as the whole-file loader parses); next() hands the
// chunks out in file order whatever the number of threads, so what a run sees depends only on
// the data. Memory stays bounded: at most `window` chunks are read ahead, raw or parsed.
//
// Bad rows: each chunk's are tallied on its parser thread and absorbed into the split's
// BadRowLog in file order, so the first bad row in the file is the one a `fail` run stops at,
// and the rejected-lines file lists them in file order.
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/bad_rows.h"
#include "data/dataset.h"
#include "data/file_share.h"
#include "data/row_parser.h"

namespace heed {

struct StreamOptions {
  std::size_t chunk_lines = 8192;
  int parser_threads = 1;
  std::size_t window = 0;       // chunks read ahead, raw or parsed (0: 2 per parser thread + 2)
  bool write_rejects = true;    // false on later passes over the same files: count, don't repeat
  ParseScope scope;
  ReadShare share;              // several readers sharing the files: this one's part (file_share.h)
};

class RowStream {
 public:
  RowStream(std::vector<std::filesystem::path> files, const Config& config, const Schema& schema,
            const StreamOptions& options, BadRowLog& log);
  ~RowStream();
  RowStream(const RowStream&) = delete;
  RowStream& operator=(const RowStream&) = delete;

  // The next chunk's rows, in file order; false after the last. Rethrows, in file order, any
  // error met while reading or parsing.
  bool next(Dataset& chunk);

 private:
  struct FileColumns {
    std::string path;
    std::vector<std::string> names;
  };
  struct RawChunk {
    std::size_t seq = 0;
    std::shared_ptr<const FileColumns> file;
    std::string text;                    // the lines' bytes, one after the other
    std::vector<std::size_t> starts;     // line k is text[starts[k], starts[k + 1])
    std::vector<LineInfo> lines;
    std::string damage;                  // the file's data ended early here (why)
    bool damage_inside_last_line = false;
  };
  // A parsed chunk's buffers, cleared and handed back to the reader, so chunks after the first
  // few are read into memory already allocated (and paged in) instead of new.
  struct Spare {
    std::string text;
    std::vector<std::size_t> starts;
    std::vector<LineInfo> lines;
  };
  struct Parsed {
    Dataset data;
    BadRowLog::Tally tally;
    std::exception_ptr error;
  };

  void read_files();
  void parse_chunks();

  const std::vector<std::filesystem::path> files_;
  const Config& config_;
  const Schema& schema_;
  const StreamOptions options_;
  BadRowLog& log_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RawChunk> raw_;
  std::vector<Spare> spare_;
  std::map<std::size_t, Parsed> parsed_;
  std::size_t in_flight_ = 0;   // chunks read and not yet handed out
  std::size_t next_seq_ = 0;    // the chunk next() hands out next
  std::size_t read_count_ = 0;  // chunks the reader has produced
  bool reader_done_ = false, stopping_ = false;
  std::exception_ptr reader_error_;
  std::vector<std::thread> threads_;
};

}  // namespace heed
