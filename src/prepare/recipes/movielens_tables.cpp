#include "prepare/recipes/movielens_tables.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace heed::recipes::movielens {
namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::uint32_t>::max();

// Release dates look like "01-Jan-1995" (one movie has "4-Feb-1971"); only the year is kept.
std::string release_year(const DelimitedFile& reader, std::size_t column) {
  const std::string_view date = reader.field(column);
  if (date.empty()) return "";
  const auto all_digits = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  const std::size_t first_dash = date.find('-');
  const std::size_t last_dash = date.rfind('-');
  const std::string_view day = date.substr(0, first_dash);
  const std::string_view year =
      last_dash == std::string_view::npos ? std::string_view() : date.substr(last_dash + 1);
  const bool well_formed = first_dash != std::string_view::npos && last_dash == first_dash + 4 &&
                           !day.empty() && day.size() <= 2 && all_digits(day) && year.size() == 4 &&
                           all_digits(year);
  if (!well_formed) {
    reader.fail(column, "bad_date",
                fmt::format("expected a date like 01-Jan-1995 or nothing, found {}", quoted(date)));
  }
  return std::string(year);
}

// Sorts `rows` by id so dense indices follow id order, and builds the id -> index map.
template <typename Row>
std::unordered_map<std::uint32_t, std::uint32_t> sort_and_index(std::vector<Row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  std::unordered_map<std::uint32_t, std::uint32_t> index;
  index.reserve(rows.size());
  for (std::uint32_t i = 0; i < rows.size(); ++i) index.emplace(rows[i].id, i);
  return index;
}

// Ids must be unique: a repeated one would make the join ambiguous.
void check_new_id(std::unordered_map<std::uint32_t, std::uint64_t>& first_line, std::uint32_t id,
                  const DelimitedFile& reader) {
  const auto [it, inserted] = first_line.emplace(id, reader.line_number());
  if (!inserted) {
    reader.fail(0, "duplicate_id",
                fmt::format("id {} was already defined on line {}", id, it->second));
  }
}

}  // namespace

std::vector<std::string> read_genres(const std::filesystem::path& file) {
  DelimitedFile reader(file, '|', {"genre", "index"});
  reader.skip_blank_lines();
  std::vector<std::string> genres;
  while (reader.next()) {
    const std::string_view name = reader.cell_text(0, /*allow_empty=*/false);
    if (name.find_first_of(",|") != std::string_view::npos) {
      reader.fail(0, "bad_genre", fmt::format("genre {} contains ',' or '|'", quoted(name)));
    }
    // The index ties a name to its flag column in u.item; a reordered file must not swap genres.
    const auto index = reader.integer(1, 0, kMaxId);
    if (static_cast<std::size_t>(index) != genres.size()) {
      reader.fail(1, "bad_genre_index",
                  fmt::format("expected genre index {} (genres are listed in flag order), found {}",
                              genres.size(), index));
    }
    genres.emplace_back(name);
  }
  if (genres.empty()) reader.fail_empty("lines 'genre|index'");
  return genres;
}

std::vector<User> read_users(const std::filesystem::path& file, BadLines& bad_lines) {
  DelimitedFile reader(file, '|', {"user_id", "age", "gender", "occupation", "zip"});
  std::vector<User> users;
  std::unordered_map<std::uint32_t, std::uint64_t> first_line;
  bad_lines.read_all(reader, [&] {
    User user;
    user.id = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    user.id_text = std::to_string(user.id);
    user.age = std::to_string(reader.integer(1, 0, 200));
    user.gender = reader.cell_text(2, /*allow_empty=*/false);
    user.occupation = reader.cell_text(3, /*allow_empty=*/false);
    user.zip = reader.cell_text(4, /*allow_empty=*/true);
    check_new_id(first_line, user.id, reader);  // last: a line skipped for another reason claims no id
    users.push_back(std::move(user));
  });
  if (users.empty()) reader.fail_empty("lines 'user_id|age|gender|occupation|zip'");
  return users;
}

std::vector<Movie> read_movies(const std::filesystem::path& file, BadLines& bad_lines,
                               const std::vector<std::string>& genres) {
  constexpr std::size_t kFirstFlag = 5;
  std::vector<std::string> columns = {"item_id", "title", "release_date", "video_release_date",
                                      "imdb_url"};
  columns.insert(columns.end(), genres.begin(), genres.end());
  // Titles and URLs are latin-1 but never written out, so no transcoding is needed.
  DelimitedFile reader(file, '|', std::move(columns));
  std::vector<Movie> movies;
  std::unordered_map<std::uint32_t, std::uint64_t> first_line;
  bad_lines.read_all(reader, [&] {
    Movie movie;
    movie.id = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    movie.id_text = std::to_string(movie.id);
    movie.release_year = release_year(reader, 2);
    for (std::size_t g = 0; g < genres.size(); ++g) {
      if (reader.integer(kFirstFlag + g, 0, 1) == 0) continue;
      if (!movie.genres.empty()) {
        movie.genres += '|';
        movie.genre_set += ',';
      }
      movie.genres += genres[g];
      movie.genre_set += genres[g];
    }
    // No flag at all means unclassified, which MovieLens itself calls "unknown".
    if (movie.genres.empty()) movie.genres = movie.genre_set = "unknown";
    check_new_id(first_line, movie.id, reader);
    movies.push_back(std::move(movie));
  });
  if (movies.empty()) reader.fail_empty("lines 'item_id|title|release_date|...|genre flags'");
  return movies;
}

Catalog read_catalog(const std::filesystem::path& folder, BadLines& bad_lines) {
  Catalog catalog;
  catalog.users = read_users(folder / "u.user", bad_lines);
  catalog.movies = read_movies(folder / "u.item", bad_lines, read_genres(folder / "u.genre"));
  catalog.user_index = sort_and_index(catalog.users);
  catalog.movie_index = sort_and_index(catalog.movies);
  return catalog;
}

std::vector<User> read_users_1m(const std::filesystem::path& file, BadLines& bad_lines) {
  DelimitedFile reader(file, "::", {"user_id", "gender", "age", "occupation", "zip"});
  std::vector<User> users;
  std::unordered_map<std::uint32_t, std::uint64_t> first_line;
  bad_lines.read_all(reader, [&] {
    User user;
    user.id = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    user.id_text = std::to_string(user.id);
    user.gender = reader.cell_text(1, /*allow_empty=*/false);
    // Age and occupation are codes (age group 1, 18, 25, ...; occupation 0..20) kept as tokens.
    user.age = std::to_string(reader.integer(2, 0, 200));
    user.occupation = std::to_string(reader.integer(3, 0, 1000));
    user.zip = reader.cell_text(4, /*allow_empty=*/true);
    check_new_id(first_line, user.id, reader);
    users.push_back(std::move(user));
  });
  if (users.empty()) reader.fail_empty("lines 'UserID::Gender::Age::Occupation::Zip-code'");
  return users;
}

namespace {

// "Toy Story (1995)" -> "1995"; empty when the title does not end with a year in parentheses.
std::string year_of_title(std::string_view title) {
  while (!title.empty() && title.back() == ' ') title.remove_suffix(1);
  if (title.size() < 6 || title.back() != ')' || title[title.size() - 6] != '(') return "";
  const std::string_view year = title.substr(title.size() - 5, 4);
  const bool digits = std::all_of(year.begin(), year.end(),
                                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return digits ? std::string(year) : "";
}

}  // namespace

std::vector<Movie> read_movies_1m(const std::filesystem::path& file, BadLines& bad_lines) {
  // Titles are latin-1 but only their year is written out, so no transcoding is needed.
  DelimitedFile reader(file, "::", {"item_id", "title", "genres"});
  std::vector<Movie> movies;
  std::unordered_map<std::uint32_t, std::uint64_t> first_line;
  bad_lines.read_all(reader, [&] {
    Movie movie;
    movie.id = static_cast<std::uint32_t>(reader.integer(0, 0, kMaxId));
    movie.id_text = std::to_string(movie.id);
    movie.release_year = year_of_title(reader.field(1));
    const std::string_view genres = reader.cell_text(2, /*allow_empty=*/true);
    if (genres.find(',') != std::string_view::npos) {
      reader.fail(2, "bad_genre",
                  fmt::format("genres {} contain ',', the separator of genre_set", quoted(genres)));
    }
    for (std::size_t start = 0; start <= genres.size();) {
      std::size_t stop = genres.find('|', start);
      if (stop == std::string_view::npos) stop = genres.size();
      if (stop == start && !genres.empty()) {
        reader.fail(2, "bad_genre", fmt::format("empty genre name in {}", quoted(genres)));
      }
      start = stop + 1;
    }
    movie.genres = genres.empty() ? "unknown" : std::string(genres);
    movie.genre_set = movie.genres;
    std::replace(movie.genre_set.begin(), movie.genre_set.end(), '|', ',');
    check_new_id(first_line, movie.id, reader);
    movies.push_back(std::move(movie));
  });
  if (movies.empty()) reader.fail_empty("lines 'MovieID::Title::Genres'");
  return movies;
}

Catalog read_catalog_1m(const std::filesystem::path& folder, BadLines& bad_lines) {
  Catalog catalog;
  catalog.users_file = "users.dat";
  catalog.movies_file = "movies.dat";
  catalog.users = read_users_1m(folder / "users.dat", bad_lines);
  catalog.movies = read_movies_1m(folder / "movies.dat", bad_lines);
  catalog.user_index = sort_and_index(catalog.users);
  catalog.movie_index = sort_and_index(catalog.movies);
  return catalog;
}

std::vector<Rating> read_ratings(const std::filesystem::path& file, const Catalog& catalog,
                                 BadLines& bad_lines, const RatingCheck& check,
                                 const std::string& delimiter) {
  DelimitedFile reader(file, delimiter, {"user_id", "item_id", "rating", "timestamp"});
  std::vector<Rating> ratings;
  ratings.reserve(100'000);  // u.data's size: one allocation in the usual case
  const auto lookup = [&](std::size_t column, const auto& index, const char* table) {
    const auto id = reader.integer(column, 0, kMaxId);
    const auto it = index.find(static_cast<std::uint32_t>(id));
    if (it == index.end()) {
      reader.fail(column, "unknown_id", fmt::format("id {} is not in {}", id, table));
    }
    return it->second;
  };
  bad_lines.read_all(reader, [&] {
    Rating rating;
    rating.user = lookup(0, catalog.user_index, catalog.users_file.c_str());
    rating.movie = lookup(1, catalog.movie_index, catalog.movies_file.c_str());
    rating.stars = static_cast<std::int32_t>(reader.integer(2, 1, 5));
    rating.timestamp = reader.integer(3, 0, std::numeric_limits<std::int64_t>::max());
    if (check) check(rating, reader);
    ratings.push_back(rating);
  });
  if (ratings.empty()) {
    const std::string sep = delimiter == "\t" ? " TAB " : delimiter;
    reader.fail_empty(fmt::format("lines 'user_id{0}item_id{0}rating{0}timestamp'", sep));
  }
  return ratings;
}

}  // namespace heed::recipes::movielens
