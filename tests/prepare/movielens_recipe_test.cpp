#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/recipes/movielens.h"

namespace heed::recipes {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kRealData = HEED_SOURCE_DIR "/../shared/datasets/ml-100k/original";

const char* const kHeader =
    "label\tuser_id\titem_id\trating\ttimestamp\tage\tgender\toccupation\tzip\tgenres\tgenre_set\t"
    "release_year\thist_item_ids\thist_genres\tuser_activity";

// A fresh folder under the system temp dir, removed when the test ends.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ =
        fs::temp_directory_path() / ("heed_movielens_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(fs::file_size(path), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> split(const std::string& text, char delimiter) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t cut = text.find(delimiter, start);
    parts.push_back(text.substr(start, cut == std::string::npos ? cut : cut - start));
    if (cut == std::string::npos) return parts;
    start = cut + 1;
  }
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> lines = split(read_file(path), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Column positions in the TSVs.
enum Col {
  kLabel,
  kUser,
  kItem,
  kRating,
  kTime,
  kAge,
  kGender,
  kOccupation,
  kZip,
  kGenres,
  kGenreSet,
  kYear,
  kHistItems,
  kHistGenres,
  kActivity,
  kColumnCount
};

using Row = std::vector<std::string_view>;

// Calls visit(row) for each data row of a written TSV, streaming: the files run to 60 MB and
// holding them whole costs more than the recipe itself. Returns the number of rows.
template <typename Visit>
std::size_t for_each_row(const fs::path& path, Visit visit) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  EXPECT_TRUE(std::getline(in, line)) << path;
  EXPECT_EQ(line, kHeader);
  std::size_t count = 0;
  Row row;
  while (std::getline(in, line)) {
    row.clear();
    const std::string_view text = line;
    for (std::size_t from = 0;;) {
      const std::size_t cut = text.find('\t', from);
      row.push_back(text.substr(from, cut == std::string_view::npos ? cut : cut - from));
      if (cut == std::string_view::npos) break;
      from = cut + 1;
    }
    EXPECT_EQ(row.size(), static_cast<std::size_t>(kColumnCount)) << line;
    if (row.size() != static_cast<std::size_t>(kColumnCount)) return count;
    visit(row);
    ++count;
  }
  return count;
}

// Rows of a small TSV, copied.
std::vector<std::vector<std::string>> rows_of(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  for_each_row(path, [&](const Row& row) { rows.emplace_back(row.begin(), row.end()); });
  return rows;
}

bool same_bytes(const fs::path& a, const fs::path& b) {
  std::ifstream in_a(a, std::ios::binary);
  std::ifstream in_b(b, std::ios::binary);
  std::vector<char> chunk_a(1 << 20);
  std::vector<char> chunk_b(1 << 20);
  while (in_a && in_b) {
    in_a.read(chunk_a.data(), static_cast<std::streamsize>(chunk_a.size()));
    in_b.read(chunk_b.data(), static_cast<std::streamsize>(chunk_b.size()));
    if (in_a.gcount() != in_b.gcount() ||
        !std::equal(chunk_a.begin(), chunk_a.begin() + in_a.gcount(), chunk_b.begin())) {
      return false;
    }
  }
  return in_a.eof() && in_b.eof();
}

std::string str(std::string_view view) {
  return std::string(view);
}
long long number(std::string_view view) {
  return std::stoll(str(view));
}

// ---------------------------------------------------------------------------------------------
// Small synthetic dataset: every rule checked against hand-computed rows.

// Three genres, three users, three movies (one with a latin-1 title and a one-digit day, one
// unclassified without a date). User 1 rates movies 2 and 1 in the same second.
void write_tiny_dataset(const fs::path& dir) {
  write_file(dir / "u.genre", "unknown|0\nAction|1\nComedy|2\n\n");
  write_file(dir / "u.user", "1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|30|M|writer|10001\n");
  write_file(dir / "u.item",
             "1|Toy Story (1995)|01-Jan-1995||http://a|0|0|1\n"
             "2|Caf\xe9 Society (1994)|4-Feb-1994||http://b|0|1|1\n"
             "3|unknown||||1|0|0\n");
  write_file(dir / "u.data",
             "1\t2\t5\t100\n"
             "1\t1\t4\t100\n"
             "1\t3\t3\t150\n"
             "2\t2\t4\t50\n"
             "2\t1\t2\t60\n"
             "2\t3\t5\t70\n"
             "3\t1\t4\t10\n");
  write_file(dir / "u1.base",
             "1\t2\t5\t100\n2\t2\t4\t50\n1\t1\t4\t100\n2\t1\t2\t60\n3\t1\t4\t10\n");
  write_file(dir / "u1.test", "1\t3\t3\t150\n2\t3\t5\t70\n");
}

MovieLensOptions tiny_options(const TempDir& dir) {
  MovieLensOptions options;
  options.source = dir.path();
  options.out = dir.path() / "out";
  return options;
}

TEST(MovieLensRecipe, TinyDatasetRowsAreExact) {
  TempDir dir("tiny_rows");
  write_tiny_dataset(dir.path());
  const PrepareSummary summary = prepare_movielens_100k(tiny_options(dir));
  EXPECT_EQ(summary.train_rows, 5u);
  EXPECT_EQ(summary.test_rows, 2u);
  ASSERT_EQ(summary.files.size(), 3u);

  // Same-second history items come in item id order (1 before 2); a rating made in the same
  // second as the row is not its past; the 3-star rating is never history.
  EXPECT_EQ(read_file(dir.path() / "out" / "test.tsv"),
            std::string(kHeader) +
                "\n"
                "0\t1\t3\t3\t150\t24\tM\ttechnician\t85711\tunknown\tunknown\t\t1|2\t"
                "Comedy|Action,Comedy\t1-4\n"
                "1\t2\t3\t5\t70\t53\tF\tother\tT8H1N\tunknown\tunknown\t\t2\tAction,Comedy\t1-4\n");
  EXPECT_EQ(
      read_file(dir.path() / "out" / "train.tsv"),
      std::string(kHeader) +
          "\n"
          "1\t1\t2\t5\t100\t24\tM\ttechnician\t85711\tAction|Comedy\tAction,Comedy\t1994\t\t\t0\n"
          "1\t2\t2\t4\t50\t53\tF\tother\tT8H1N\tAction|Comedy\tAction,Comedy\t1994\t\t\t0\n"
          "1\t1\t1\t4\t100\t24\tM\ttechnician\t85711\tComedy\tComedy\t1995\t\t\t0\n"
          "0\t2\t1\t2\t60\t53\tF\tother\tT8H1N\tComedy\tComedy\t1995\t2\tAction,Comedy\t1-4\n"
          "1\t3\t1\t4\t10\t30\tM\twriter\t10001\tComedy\tComedy\t1995\t\t\t0\n");
}

TEST(MovieLensRecipe, NextItemTaskOverEveryRatingWithGenreSetsAsCategories) {
  TempDir dir("tiny_next_item");
  write_tiny_dataset(dir.path());
  MovieLensOptions options = tiny_options(dir);
  options.task = "next-item";
  const PrepareSummary summary = prepare_movielens_100k(options);
  // User 1: movies 1, 2 (same second, id order), 3; user 2: 2, 1, 3; user 3 a single rating.
  EXPECT_EQ(summary.train_rows, 0u);
  EXPECT_EQ(summary.valid_rows, 4u);
  EXPECT_EQ(summary.test_rows, 4u);
  const std::string header = "label\tuser_id\titem_id\tcategory_id\thist_item_ids\thist_category_ids\n";
  const std::string test = read_file(dir.path() / "out" / "test.tsv");
  ASSERT_EQ(test.rfind(header, 0), 0u);
  EXPECT_NE(test.find("1\t1\t3\tunknown\t1|2\tComedy|Action,Comedy\n"), std::string::npos) << test;
  EXPECT_NE(test.find("1\t2\t3\tunknown\t2|1\tAction,Comedy|Comedy\n"), std::string::npos) << test;
  const std::string valid = read_file(dir.path() / "out" / "valid.tsv");
  EXPECT_NE(valid.find("1\t1\t2\tAction,Comedy\t1\tComedy\n"), std::string::npos) << valid;
  // Each negative row shares its positive's history and carries a movie of the log with its
  // own genre set.
  const std::map<std::string, std::string> genre_set = {{"1", "Comedy"}, {"2", "Action,Comedy"}, {"3", "unknown"}};
  for (const std::string& text : {test, valid}) {
    std::istringstream lines(text);
    std::string line, positive_history;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      const auto cells = split(line, '\t');
      ASSERT_EQ(cells.size(), 6u);
      EXPECT_EQ(genre_set.at(cells[2]), cells[3]);
      if (cells[0] == "1") positive_history = cells[4] + "/" + cells[5];
      else EXPECT_EQ(cells[4] + "/" + cells[5], positive_history);
    }
  }
  EXPECT_THAT(read_file(dir.path() / "out" / "prepare.json"), HasSubstr("\"task\": \"next-item\""));
  options.task = "ratings";
  EXPECT_THAT(HEED_ERROR_MESSAGE(prepare_movielens_100k(options), Error),
              HasSubstr("unknown MovieLens task 'ratings'; valid tasks: rating, next-item"));
}

TEST(MovieLensRecipe, MaxHistoryKeepsTheMostRecent) {
  TempDir dir("tiny_max_history");
  write_tiny_dataset(dir.path());
  MovieLensOptions options = tiny_options(dir);
  options.max_history = 1;
  prepare_movielens_100k(options);
  const auto rows = rows_of(dir.path() / "out" / "test.tsv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][kHistItems], "2");  // of 1|2, movie 2 is the later one by the tie rule
  EXPECT_EQ(rows[0][kHistGenres], "Action,Comedy");
}

TEST(MovieLensRecipe, TimeSplitTakesEachUsersLatestRatings) {
  TempDir dir("tiny_time");
  write_tiny_dataset(dir.path());
  MovieLensOptions options = tiny_options(dir);
  options.split = "time";
  const PrepareSummary summary = prepare_movielens_100k(options);
  // Users 1 and 2 have 3 ratings: ceil(0.2 * 3) = 1 to test. User 3's single rating stays in train.
  EXPECT_EQ(summary.train_rows, 5u);
  EXPECT_EQ(summary.test_rows, 2u);
  std::vector<std::string> train_keys;
  for (const auto& row : rows_of(dir.path() / "out" / "train.tsv")) {
    train_keys.push_back(row[kUser] + ":" + row[kItem]);
  }
  // Ordered by (user, timestamp, item): the 100-second tie puts movie 1 before movie 2.
  EXPECT_EQ(train_keys, (std::vector<std::string>{"1:1", "1:2", "2:2", "2:1", "3:1"}));
  const auto test = rows_of(dir.path() / "out" / "test.tsv");
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[0][kUser] + ":" + test[0][kItem], "1:3");
  EXPECT_EQ(test[1][kUser] + ":" + test[1][kItem], "2:3");

  // A large fraction still leaves every user one training rating.
  options.time_test_fraction = 0.9;
  const PrepareSummary most = prepare_movielens_100k(options);
  EXPECT_EQ(most.train_rows, 3u);
  EXPECT_EQ(most.test_rows, 4u);
}

TEST(MovieLensRecipe, WritesPrepareJson) {
  TempDir dir("tiny_json");
  write_tiny_dataset(dir.path());
  prepare_movielens_100k(tiny_options(dir));
  const std::string json = read_file(dir.path() / "out" / "prepare.json");
  EXPECT_THAT(json, HasSubstr("\"split\": \"u1\""));
  EXPECT_THAT(json, HasSubstr("\"max_history\": 50"));
  EXPECT_THAT(json, HasSubstr("\"positive_rate\": 0.8"));  // 4 of 5 train rows
  EXPECT_THAT(json, HasSubstr("\"positive_rate\": 0.5"));  // 1 of 2 test rows
  EXPECT_THAT(json, HasSubstr("\"name\": \"user_activity\""));
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each error names the file, the line and the column.

// Runs the recipe on the tiny dataset after `damage` and returns the error message.
template <typename Damage>
std::string error_after(const std::string& tag, Damage damage, const std::string& split = "u1") {
  TempDir dir(tag);
  write_tiny_dataset(dir.path());
  damage(dir.path());
  MovieLensOptions options = tiny_options(dir);
  options.split = split;
  try {
    prepare_movielens_100k(options);
  } catch (const Error& e) {
    EXPECT_FALSE(fs::exists(dir.path() / "out" / "train.tsv")) << "wrote output despite the error";
    return e.what();
  }
  ADD_FAILURE() << "no error for " << tag;
  return "";
}

TEST(MovieLensRecipeErrors, WrongColumnCountInUData) {
  const std::string message = error_after("columns", [](const fs::path& dir) {
    write_file(dir / "u.data", "1\t2\t5\t100\n1\t1\t4\n");
  });
  EXPECT_THAT(message, HasSubstr("u.data:2: column 4 (timestamp): expected 4 fields separated by "
                                 "TAB, found 3 field(s)"));
}

TEST(MovieLensRecipeErrors, NonNumericRating) {
  const std::string message = error_after("rating", [](const fs::path& dir) {
    write_file(dir / "u.data", "1\t2\t5\t100\n1\t1\t4\t100\n1\t3\tgood\t150\n");
  });
  EXPECT_THAT(message, HasSubstr("u.data:3: column 3 (rating): expected an integer, found 'good'"));
}

TEST(MovieLensRecipeErrors, RatingOutOfRange) {
  const std::string message = error_after(
      "range", [](const fs::path& dir) { write_file(dir / "u.data", "1\t2\t6\t100\n"); });
  EXPECT_THAT(message, HasSubstr("u.data:1: column 3 (rating): expected an integer in [1, 5]"));
}

TEST(MovieLensRecipeErrors, UnknownItemId) {
  const std::string message = error_after("item", [](const fs::path& dir) {
    write_file(dir / "u1.base", "1\t2\t5\t100\n1\t99\t4\t100\n");
  });
  EXPECT_THAT(message, HasSubstr("u1.base:2: column 2 (item_id): id 99 is not in u.item"));
}

TEST(MovieLensRecipeErrors, UnknownUserId) {
  const std::string message = error_after("user", [](const fs::path& dir) {
    write_file(dir / "u.data", "1\t2\t5\t100\n7\t1\t4\t100\n");
  });
  EXPECT_THAT(message, HasSubstr("u.data:2: column 1 (user_id): id 7 is not in u.user"));
}

TEST(MovieLensRecipeErrors, EmptyUData) {
  const std::string message =
      error_after("empty", [](const fs::path& dir) { write_file(dir / "u.data", ""); });
  EXPECT_THAT(message, HasSubstr("u.data:1: column 1 (user_id): the file is empty"));
}

TEST(MovieLensRecipeErrors, BlankLineInUData) {
  const std::string message = error_after("blank", [](const fs::path& dir) {
    write_file(dir / "u.data", "1\t2\t5\t100\n\n1\t1\t4\t100\n");
  });
  EXPECT_THAT(message, HasSubstr("u.data:2: column 2 (item_id): expected 4 fields separated by "
                                 "TAB, found an empty line"));
}

TEST(MovieLensRecipeErrors, MissingFile) {
  const std::string message =
      error_after("missing", [](const fs::path& dir) { fs::remove(dir / "u.user"); });
  // A file that is not there has no line or column: the message names the file and the cause.
  EXPECT_THAT(message, HasSubstr("u.user: cannot open the file"));
}

TEST(MovieLensRecipeErrors, MissingSourceFolder) {
  MovieLensOptions options;
  options.source = "/nonexistent/ml-100k";
  options.out = fs::temp_directory_path() / "heed_movielens_never_written";
  try {
    prepare_movielens_100k(options);
    ADD_FAILURE() << "no error for a missing folder";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'/nonexistent/ml-100k' does not exist"));
  }
}

TEST(MovieLensRecipeErrors, BadGenreFlag) {
  const std::string message = error_after("flag", [](const fs::path& dir) {
    write_file(dir / "u.item", "1|Toy Story (1995)|01-Jan-1995||http://a|0|2|1\n");
  });
  EXPECT_THAT(message,
              HasSubstr("u.item:1: column 7 (Action): expected an integer in [0, 1], found 2"));
}

TEST(MovieLensRecipeErrors, BadReleaseDate) {
  const std::string message = error_after("date", [](const fs::path& dir) {
    write_file(dir / "u.item", "1|Toy Story (1995)|1995-01-01||http://a|0|0|1\n");
  });
  EXPECT_THAT(message, HasSubstr("u.item:1: column 3 (release_date): expected a date like "
                                 "01-Jan-1995 or nothing, found '1995-01-01'"));
}

TEST(MovieLensRecipeErrors, DuplicateUserId) {
  const std::string message = error_after("duplicate", [](const fs::path& dir) {
    write_file(dir / "u.user", "1|24|M|technician|85711\n1|53|F|other|T8H1N\n");
  });
  EXPECT_THAT(message,
              HasSubstr("u.user:2: column 1 (user_id): id 1 was already defined on line 1"));
}

TEST(MovieLensRecipeErrors, TabInsideAUserField) {
  const std::string message = error_after("tab", [](const fs::path& dir) {
    write_file(dir / "u.user", "1|24|M|tech\tnician|85711\n");
  });
  EXPECT_THAT(message, HasSubstr("u.user:1: column 4 (occupation): value 'tech\\x09nician' "
                                 "contains a TAB"));
}

TEST(MovieLensRecipeErrors, SplitRatingMissingFromUData) {
  const std::string message = error_after("not_in_u_data", [](const fs::path& dir) {
    write_file(dir / "u1.test", "1\t3\t3\t150\n2\t3\t4\t70\n");  // u.data says 5 stars
  });
  EXPECT_THAT(message, HasSubstr("u1.test:2: this rating is not in u.data"));
}

TEST(MovieLensRecipeErrors, UnknownSplitListsTheValidOnes) {
  const std::string message = error_after(
      "split", [](const fs::path&) {}, "u9");
  EXPECT_THAT(message, HasSubstr("unknown MovieLens-100K split 'u9'; valid splits: u1, u2, u3, "
                                 "u4, u5, ua, ub, time"));
}

TEST(MovieLensRecipeErrors, TimeFractionOutsideZeroOne) {
  TempDir dir("fraction");
  write_tiny_dataset(dir.path());
  MovieLensOptions options = tiny_options(dir);
  options.split = "time";
  options.time_test_fraction = 1.0;
  try {
    prepare_movielens_100k(options);
    ADD_FAILURE() << "no error for a fraction of 1";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("time_test_fraction must be strictly between 0 and 1, got 1"));
  }
}

TEST(MovieLensRecipeErrors, ErrorsCarryTheirLocation) {
  TempDir dir("location");
  write_tiny_dataset(dir.path());
  write_file(dir.path() / "u.data", "1\t2\t5\t100\n1\t1\t4\tlater\n");
  try {
    prepare_movielens_100k(tiny_options(dir));
    ADD_FAILURE() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.where().file, (dir.path() / "u.data").string());
    EXPECT_EQ(e.where().line, 2u);
    EXPECT_EQ(e.where().column, 4u);
    EXPECT_EQ(e.where().byte_offset, 16u);  // "1\t2\t5\t100\n" is 10 bytes, then "1\t1\t4\t"
    EXPECT_EQ(e.reason(), "not_an_integer");
  }
}

// ---------------------------------------------------------------------------------------------
// The real MovieLens-100K files, checked against brute-force recomputation.

struct RawRating {
  long long user;
  int item, stars;
  long long time;
};

// u.data read the obvious way, independently of the recipe's reader.
std::vector<RawRating> read_raw_ratings(const fs::path& file) {
  std::vector<RawRating> ratings;
  std::ifstream in(file);
  RawRating r{};
  while (in >> r.user >> r.item >> r.stars >> r.time) ratings.push_back(r);
  return ratings;
}

// item id -> its genres joined by ','.
std::map<int, std::string> read_genre_sets(const fs::path& dir) {
  std::vector<std::string> names;
  for (const std::string& line : lines_of(dir / "u.genre")) {
    if (!line.empty()) names.push_back(split(line, '|')[0]);
  }
  std::map<int, std::string> sets;
  for (const std::string& line : lines_of(dir / "u.item")) {
    const auto fields = split(line, '|');
    std::string set;
    for (std::size_t g = 0; g < names.size(); ++g) {
      if (fields[5 + g] == "1") set += (set.empty() ? "" : ",") + names[g];
    }
    sets[std::stoi(fields[0])] = set;
  }
  return sets;
}

std::string bucket(std::size_t n) {
  if (n == 0) return "0";
  if (n <= 4) return "1-4";
  if (n <= 19) return "5-19";
  if (n <= 49) return "20-49";
  if (n <= 99) return "50-99";
  if (n <= 199) return "100-199";
  return "200+";
}

// Prepares a split of the real files once per test process, on first use (ctest runs each
// test in its own process, so preparing lazily keeps every test to the split it needs).
class MovieLensRealData : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kRealData / "u.data")) {
      GTEST_SKIP() << "MovieLens-100K not found at " << kRealData.string()
                   << " (the shared datasets folder is optional)";
    }
  }
  static void TearDownTestSuite() { prepared().clear(); }

  struct Prepared {
    std::unique_ptr<TempDir> dir;
    PrepareSummary summary;
  };
  static std::map<std::string, Prepared>& prepared() {
    static std::map<std::string, Prepared> runs;
    return runs;
  }
  // The output folder of `split` prepared with the default options.
  static const Prepared& prepare(const std::string& split) {
    Prepared& run = prepared()[split];
    if (!run.dir) {
      run.dir = std::make_unique<TempDir>("real_" + split);
      MovieLensOptions options;
      options.source = kRealData;
      options.out = run.dir->path();
      options.split = split;
      run.summary = prepare_movielens_100k(options);
    }
    return run;
  }
};

TEST_F(MovieLensRealData, U1HasTheGroupLensRowCountsInFileOrder) {
  const Prepared& u1 = prepare("u1");
  EXPECT_EQ(u1.summary.train_rows, 80000u);
  EXPECT_EQ(u1.summary.test_rows, 20000u);
  for (const auto& [name, source_name] :
       {std::pair{"train.tsv", "u1.base"}, {"test.tsv", "u1.test"}}) {
    const auto source = lines_of(kRealData / source_name);
    std::size_t i = 0;
    const std::size_t rows = for_each_row(u1.dir->path() / name, [&](const Row& row) {
      ASSERT_LT(i, source.size());
      EXPECT_EQ(str(row[kUser]) + "\t" + str(row[kItem]) + "\t" + str(row[kRating]) + "\t" +
                    str(row[kTime]),
                source[i]);
      EXPECT_EQ(row[kLabel], number(row[kRating]) >= 4 ? "1" : "0") << source[i];
      ++i;
    });
    EXPECT_EQ(rows, source.size());
  }
}

TEST_F(MovieLensRealData, JoinsUsersAndMovies) {
  const Prepared& u1 = prepare("u1");
  const auto genre_sets = read_genre_sets(kRealData);
  // item id -> its genres, genre_set and release_year as written, from its first row.
  std::map<int, std::vector<std::string>> movies;
  for (const char* name : {"train.tsv", "test.tsv"}) {
    for_each_row(u1.dir->path() / name, [&](const Row& row) {
      const std::vector<std::string> fields{str(row[kGenres]), str(row[kGenreSet]),
                                            str(row[kYear])};
      const auto [it, added] = movies.try_emplace(static_cast<int>(number(row[kItem])), fields);
      if (!added) {
        EXPECT_EQ(it->second, fields) << "item " << it->first;
      }
    });
  }
  ASSERT_EQ(movies.size(), 1682u);
  // Toy Story; and movie 267, which u.item leaves unclassified and undated.
  EXPECT_EQ(movies[1], (std::vector<std::string>{"Animation|Children's|Comedy",
                                                 "Animation,Children's,Comedy", "1995"}));
  EXPECT_EQ(movies[267], (std::vector<std::string>{"unknown", "unknown", ""}));
  for (const auto& [item, fields] : movies) {
    ASSERT_EQ(fields[1], genre_sets.at(item)) << "item " << item;
  }
}

// The no-leakage test: histories and activity recomputed from u.data by brute force.
TEST_F(MovieLensRealData, HistoriesMatchBruteForceAndNeverLookAhead) {
  const Prepared& u1 = prepare("u1");
  const auto genre_sets = read_genre_sets(kRealData);
  std::map<long long, std::vector<RawRating>> by_user;
  for (const RawRating& r : read_raw_ratings(kRealData / "u.data")) by_user[r.user].push_back(r);

  std::size_t seen = 0;
  std::size_t checked = 0;
  std::size_t with_history = 0;
  const auto check = [&](const Row& row) {
    if (seen++ % 11 != 0) return;  // a sample: every 11th row
    const auto& ratings = by_user[number(row[kUser])];
    const long long time = number(row[kTime]);
    std::vector<std::pair<long long, int>> liked;
    std::size_t earlier = 0;
    for (const RawRating& r : ratings) {
      if (r.time >= time) continue;
      ++earlier;
      if (r.stars >= 4) liked.emplace_back(r.time, r.item);
    }
    std::sort(liked.begin(), liked.end());  // by time, then item id
    if (liked.size() > 50) liked.erase(liked.begin(), liked.end() - 50);
    std::string items;
    std::string genres;
    for (const auto& [t, item] : liked) {
      items += (items.empty() ? "" : "|") + std::to_string(item);
      genres += (genres.empty() ? "" : "|") + genre_sets.at(item);
    }
    EXPECT_EQ(row[kHistItems], items) << "row " << seen;
    EXPECT_EQ(row[kHistGenres], genres) << "row " << seen;
    EXPECT_EQ(row[kActivity], bucket(earlier)) << "row " << seen;

    // Stated directly as well: every history item is a liked rating from the past.
    for (const std::string& item : split(str(row[kHistItems]), '|')) {
      if (item.empty()) continue;
      const auto past = std::find_if(ratings.begin(), ratings.end(),
                                     [&](const RawRating& r) { return r.item == std::stoi(item); });
      ASSERT_NE(past, ratings.end());
      EXPECT_LT(past->time, time);
      EXPECT_GE(past->stars, 4);
    }
    ++checked;
    with_history += items.empty() ? 0 : 1;
  };
  for_each_row(u1.dir->path() / "train.tsv", check);
  for_each_row(u1.dir->path() / "test.tsv", check);
  EXPECT_GT(checked, 9000u);
  EXPECT_GT(with_history, checked / 2);  // the check is not vacuous
}

TEST_F(MovieLensRealData, TimeSplitNeverTestsOnThePast) {
  const Prepared& time = prepare("time");
  EXPECT_EQ(time.summary.train_rows + time.summary.test_rows, 100000u);
  // Per user: latest train time, earliest test time, and counts.
  std::map<long long, long long> latest_train;
  std::map<long long, long long> earliest_test;
  std::map<long long, std::size_t> train_count;
  std::map<long long, std::size_t> test_count;
  std::tuple<long long, long long, long long> previous;
  const auto ordered = [&](const Row& row) {
    const std::tuple key{number(row[kUser]), number(row[kTime]), number(row[kItem])};
    EXPECT_LT(previous, key) << "rows are not ordered by (user, timestamp, item)";
    previous = key;
  };
  previous = {-1, -1, -1};
  for_each_row(time.dir->path() / "train.tsv", [&](const Row& row) {
    ordered(row);
    latest_train[number(row[kUser])] = number(row[kTime]);
    ++train_count[number(row[kUser])];
  });
  previous = {-1, -1, -1};
  for_each_row(time.dir->path() / "test.tsv", [&](const Row& row) {
    ordered(row);
    earliest_test.try_emplace(number(row[kUser]), number(row[kTime]));
    ++test_count[number(row[kUser])];
  });
  EXPECT_EQ(latest_train.size(), 943u);
  EXPECT_EQ(earliest_test.size(), 943u);  // every user has >= 20 ratings, so all are tested
  for (const auto& [user, earliest] : earliest_test) {
    ASSERT_GE(earliest, latest_train.at(user)) << "user " << user;
    const std::size_t n = train_count[user] + test_count[user];
    EXPECT_EQ(test_count[user],
              static_cast<std::size_t>(std::ceil(0.2 * static_cast<double>(n) - 1e-9)))
        << "user " << user << " with " << n << " ratings";
  }
}

TEST_F(MovieLensRealData, RunsAreByteIdentical) {
  const Prepared& first = prepare("u1");
  TempDir again("real_u1_again");
  MovieLensOptions options;
  options.source = kRealData;
  options.out = again.path();
  prepare_movielens_100k(options);
  for (const char* name : {"train.tsv", "test.tsv", "prepare.json"}) {
    EXPECT_TRUE(same_bytes(first.dir->path() / name, options.out / name)) << name;
  }
}

}  // namespace
}  // namespace heed::recipes
