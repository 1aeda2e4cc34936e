#include "data/row_stream.h"

#include "core/error.h"
#include "data/dataset_loader.h"
#include "data/line_reader.h"

namespace heed {

RowStream::RowStream(std::vector<std::filesystem::path> files, const Config& config, const Schema& schema,
                     const StreamOptions& options, BadRowLog& log)
    : files_(std::move(files)), config_(config), schema_(schema), options_(options), log_(log) {
  const int parsers = std::max(1, options_.parser_threads);
  threads_.emplace_back([this] { read_files(); });
  for (int t = 0; t < parsers; ++t) threads_.emplace_back([this] { parse_chunks(); });
}

RowStream::~RowStream() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

void RowStream::read_files() {
  const std::size_t window =
      options_.window > 0 ? options_.window : 2 * static_cast<std::size_t>(std::max(1, options_.parser_threads)) + 2;
  const FileLayout layout = file_layout(config_.data);
  // Hands `chunk` to the parsers and starts the next one in `chunk`, on spare buffers if any.
  auto publish = [&](RawChunk& chunk) -> bool {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || in_flight_ < window; });
    if (stopping_) return false;
    chunk.seq = read_count_++;
    ++in_flight_;
    const std::shared_ptr<const FileColumns> file = chunk.file;
    raw_.push_back(std::move(chunk));
    chunk = RawChunk();
    chunk.file = file;
    if (!spare_.empty()) {
      chunk.text = std::move(spare_.back().text);
      chunk.starts = std::move(spare_.back().starts);
      chunk.lines = std::move(spare_.back().lines);
      spare_.pop_back();
    }
    chunk.starts.push_back(0);
    changed_.notify_all();
    return true;
  };
  try {
    const std::vector<ByteRange> ranges = ranges_of(files_, options_.share);
    for (std::size_t f = 0; f < files_.size(); ++f) {
      const ByteRange& range = ranges[f];
      if (range.empty()) continue;  // another reader's file
      LineReader reader(files_[f], line_reader_options(config_.data));
      auto file = std::make_shared<FileColumns>();
      file->path = reader.path();
      file->names = RowParser::read_header(layout, reader);
      std::string_view line;
      RawChunk chunk;
      chunk.file = file;
      chunk.starts.push_back(0);
      LineInfo last;
      bool damage_seen = false;
      bool range_ended = false;
      while (reader.next(line)) {
        if (reader.line_offset() < range.begin) continue;  // another reader's line, read past unparsed
        if (reader.line_offset() >= range.end) {
          range_ended = true;
          break;
        }
        last = LineInfo::of(reader);
        if (last.damage) {
          damage_seen = true;
          chunk.damage = reader.damage();
          chunk.damage_inside_last_line = true;
        }
        chunk.text.append(line);
        chunk.starts.push_back(chunk.text.size());
        chunk.lines.push_back(last);
        if (chunk.lines.size() == options_.chunk_lines && !publish(chunk)) return;
      }
      if (!range_ended && !reader.damage().empty() && !damage_seen) {
        chunk.damage = reader.damage();
        chunk.lines.push_back(last);  // the line after which the data stops; not parsed
        chunk.starts.push_back(chunk.text.size());
      }
      if (!chunk.lines.empty() && !publish(chunk)) return;
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    reader_error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  reader_done_ = true;
  changed_.notify_all();
}

void RowStream::parse_chunks() {
  BadRowLog chunk_log = BadRowLog::in_memory(config_.data);
  RowParser parser(config_, schema_, options_.scope, chunk_log);
  // Held, not just compared by address: a file's columns freed after its last chunk could be
  // reallocated at the same address for the next file, which would then keep the first file's
  // name and header.
  std::shared_ptr<const FileColumns> current;
  while (true) {
    RawChunk chunk;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !raw_.empty() || reader_done_; });
      if (stopping_ || (raw_.empty() && reader_done_)) return;
      chunk = std::move(raw_.front());
      raw_.pop_front();
    }
    Parsed out;
    try {
      if (chunk.file != current) {
        parser.start_file(chunk.file->path, chunk.file->names);
        current = chunk.file;
      }
      std::size_t parsed_lines = chunk.lines.size();
      parser.reserve(parsed_lines);
      const bool ends_after_last = !chunk.damage.empty() && !chunk.damage_inside_last_line;
      if (ends_after_last) --parsed_lines;  // the marker line holds no text
      for (std::size_t k = 0; k < parsed_lines; ++k) {
        LineInfo info = chunk.lines[k];
        if (info.damage) info.damage = &chunk.damage;  // the reader's string is gone
        parser.parse_line(info, std::string_view(chunk.text).substr(chunk.starts[k], chunk.starts[k + 1] - chunk.starts[k]));
      }
      if (ends_after_last) parser.data_ended_early(chunk.lines.back(), chunk.damage);
      out.data = parser.take();
    } catch (...) {
      out.error = std::current_exception();
      parser.take();
    }
    out.tally = chunk_log.take_tally();
    Spare spare{std::move(chunk.text), std::move(chunk.starts), std::move(chunk.lines)};
    spare.text.clear();
    spare.starts.clear();
    spare.lines.clear();
    std::lock_guard lock(mutex_);
    spare_.push_back(std::move(spare));
    parsed_.emplace(chunk.seq, std::move(out));
    changed_.notify_all();
  }
}

bool RowStream::next(Dataset& chunk) {
  Parsed got;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return parsed_.count(next_seq_) > 0 || (reader_done_ && next_seq_ == read_count_);
    });
    auto it = parsed_.find(next_seq_);
    if (it == parsed_.end()) {
      if (reader_error_) std::rethrow_exception(reader_error_);
      return false;
    }
    got = std::move(it->second);
    parsed_.erase(it);
    ++next_seq_;
    --in_flight_;
    changed_.notify_all();
  }
  log_.absorb(got.tally, options_.write_rejects);
  if (got.error) std::rethrow_exception(got.error);
  chunk = std::move(got.data);
  return true;
}

}  // namespace heed
