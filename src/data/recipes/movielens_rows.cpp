#include "data/recipes/movielens_rows.h"

#include <charconv>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace heed::recipes::movielens {
namespace {

void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

// Appends one TSV line for `rating`; the column order is kColumns'.
void append_row(std::string& out, const Rating& rating, const Catalog& catalog,
                const UserTimelines& timelines, std::size_t max_history) {
  const User& user = catalog.users[rating.user];
  const Movie& movie = catalog.movies[rating.movie];
  out += is_liked(rating) ? '1' : '0';
  out += '\t';
  out += user.id_text;
  out += '\t';
  out += movie.id_text;
  out += '\t';
  append_integer(out, rating.stars);
  out += '\t';
  append_integer(out, rating.timestamp);
  for (const std::string* text : {&user.age, &user.gender, &user.occupation, &user.zip,
                                  &movie.genres, &movie.genre_set, &movie.release_year}) {
    out += '\t';
    out += *text;
  }

  const auto history = timelines.liked_before(rating.user, rating.timestamp, max_history);
  out += '\t';
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i > 0) out += '|';
    out += catalog.movies[history[i]].id_text;
  }
  out += '\t';
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i > 0) out += '|';
    out += catalog.movies[history[i]].genre_set;
  }
  out += '\t';
  out += activity_bucket(timelines.ratings_before(rating.user, rating.timestamp));
  out += '\n';
}

}  // namespace

std::string_view activity_bucket(std::size_t earlier_ratings) {
  // Log-like steps: the first ratings tell most about a new user, later ones change little.
  if (earlier_ratings == 0) return "0";
  if (earlier_ratings < 5) return "1-4";
  if (earlier_ratings < 20) return "5-19";
  if (earlier_ratings < 50) return "20-49";
  if (earlier_ratings < 100) return "50-99";
  if (earlier_ratings < 200) return "100-199";
  return "200+";
}

TsvStats write_tsv(const std::filesystem::path& path, std::span<const Rating> ratings,
                   const Catalog& catalog, const UserTimelines& timelines,
                   std::size_t max_history) {
  std::filesystem::path partial = path;
  partial += ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(fmt::format("{}: cannot create the file", partial.string()));

  // Rows are formatted into a buffer flushed about every megabyte: few, large writes.
  constexpr std::size_t kFlushAt = 1 << 20;
  std::string buffer;
  buffer.reserve(kFlushAt + 8192);
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    if (i > 0) buffer += '\t';
    buffer += kColumns[i].name;
  }
  buffer += '\n';

  TsvStats stats;
  for (const Rating& rating : ratings) {
    append_row(buffer, rating, catalog, timelines, max_history);
    ++stats.rows;
    stats.positives += is_liked(rating) ? 1 : 0;
    if (buffer.size() >= kFlushAt) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.close();
  if (!out) throw Error(fmt::format("{}: writing failed (disk full?)", partial.string()));

  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) {
    throw Error(fmt::format("{}: cannot rename to {} ({})", partial.string(), path.string(),
                            error.message()));
  }
  return stats;
}

}  // namespace heed::recipes::movielens
