#include "prepare/recipes/recipe_output.h"

#include "core/error.h"

namespace heed::recipes {
namespace {

// Rows are formatted into a buffer written out about every megabyte: few, large writes.
constexpr std::size_t kFlushAt = 1 << 20;

}  // namespace

TsvWriter::TsvWriter(std::filesystem::path path, std::span<const Column> columns)
    : path_(std::move(path)), column_count_(columns.size()) {
  partial_ = path_;
  partial_ += ".partial";
  out_.open(partial_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(fmt::format("{}: cannot create the file", partial_.string()));
  buffer_.reserve(kFlushAt + 64 * 1024);
  for (const Column& column : columns) {
    if (!buffer_.empty()) buffer_ += '\t';
    buffer_ += column.name;
  }
  buffer_ += '\n';
}

TsvWriter::~TsvWriter() {
  if (finished_) return;
  out_.close();
  std::error_code ignored;
  std::filesystem::remove(partial_, ignored);
}

void TsvWriter::end_row(bool positive) {
  HEED_CHECK(cells_ == column_count_, "{}: a row has {} cells, the header {}", path_.string(),
             cells_, column_count_);
  buffer_ += '\n';
  cells_ = 0;
  ++stats_.rows;
  stats_.positives += positive ? 1 : 0;
  if (buffer_.size() >= kFlushAt) flush();
}

void TsvWriter::flush() {
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  if (!out_) throw Error(fmt::format("{}: writing failed (disk full?)", partial_.string()));
}

TsvStats TsvWriter::finish() {
  flush();
  out_.close();
  if (!out_) throw Error(fmt::format("{}: writing failed (disk full?)", partial_.string()));
  std::error_code error;
  std::filesystem::rename(partial_, path_, error);
  if (error) {
    throw Error(fmt::format("{}: cannot rename to {} ({})", partial_.string(), path_.string(),
                            error.message()));
  }
  finished_ = true;
  return stats_;
}

std::string_view activity_bucket(std::size_t earlier) {
  if (earlier == 0) return "0";
  if (earlier < 5) return "1-4";
  if (earlier < 20) return "5-19";
  if (earlier < 50) return "20-49";
  if (earlier < 100) return "50-99";
  if (earlier < 200) return "100-199";
  return "200+";
}

void create_output_folder(const std::filesystem::path& out) {
  if (out.empty()) throw Error("no output folder given (--out)");
  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) {
    throw Error(fmt::format("cannot create output folder '{}': {}", out.string(), error.message()));
  }
}

nlohmann::ordered_json describe_file(const TsvStats& stats) {
  nlohmann::ordered_json entry;
  entry["rows"] = stats.rows;
  entry["positive_rate"] =
      stats.rows == 0 ? 0.0 : static_cast<double>(stats.positives) / static_cast<double>(stats.rows);
  return entry;
}

nlohmann::ordered_json describe_columns(std::span<const Column> columns) {
  auto list = nlohmann::ordered_json::array();
  for (const Column& column : columns) {
    list.push_back({{"name", column.name}, {"description", column.description}});
  }
  return list;
}

std::filesystem::path write_prepare_json(const std::filesystem::path& out,
                                         const nlohmann::ordered_json& json) {
  const auto path = out / "prepare.json";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << json.dump(2) << '\n';
  file.close();
  if (!file) throw Error(fmt::format("{}: cannot write the file", path.string()));
  return path;
}

}  // namespace heed::recipes
