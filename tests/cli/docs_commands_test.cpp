// Every `heed` command that README.md's "Using it" block and the docs/*.md command blocks show
// runs as written, in the order a reader meets them (README first, then docs/ by name), in one
// fresh folder: a command that stops working, or one that needs a file no earlier command
// made, fails here instead of on a new user's machine.
//
// What differs from a user's machine, and why:
//   - ../shared/datasets/... holds small copies of the shared datasets (a few thousand rows
//     each, MovieLens-100K cut to its first users), so the whole walk takes about a minute;
//     the commands still read them through the paths the docs print. Without the shared
//     datasets the test is skipped.
//   - `heed synth --rows N` writes 1,500 rows instead of N, for the same reason.
//   - `heed download` runs with the network cut off (a proxy that refuses connections): it is
//     checked for its arguments and for what it says offline (the network is unreachable, no
//     `.part` file left); then the small copy of the dataset is put where the download would
//     have unpacked it, so the commands after it run on it.
//   - `heed serve` runs for a few seconds and passes when it was still serving when stopped (or
//     when another program holds its port).
//   - Only lines that start with `heed ` are run. The benchmark recipes of docs/performance.md
//     (`bash bench/...`, `build/heed ...`: tens of minutes, Python and PyTorch) and the build
//     commands of docs/reliability.md are not; blocks with a language (```toml) are examples of
//     files, not commands.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../support/sanitizer_build.h"
#include "../support/test_files.h"

namespace heed {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = HEED_SOURCE_DIR;
const fs::path kShared = kSource / ".." / "shared" / "datasets";

struct DocCommand {
  std::string where;  // "README.md:27"
  std::string text;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A shell comment at the end of a command line ("  # prints metrics JSON"), removed.
std::string without_comment(const std::string& line) {
  const std::size_t hash = line.find(" #");
  std::string kept = hash == std::string::npos ? line : line.substr(0, hash);
  while (!kept.empty() && kept.back() == ' ') kept.pop_back();
  return kept;
}

// The `heed` commands of the bare fenced blocks (no language) of `file`; with `section`, only
// those of the first block after that heading. Lines ending in `\` continue on the next line.
std::vector<DocCommand> commands_in(const fs::path& file, const std::string& name, const std::string& section = "") {
  const std::vector<std::string> lines = lines_of(testing::read_file(file));
  std::vector<DocCommand> out;
  bool in_section = section.empty(), in_block = false, bare = false, taken = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (!section.empty() && line.starts_with("## ")) in_section = line == section;
    if (line.starts_with("```")) {
      if (in_block && bare && !section.empty() && in_section) taken = true;
      bare = line == "```";
      in_block = !in_block;
      continue;
    }
    if (!in_block || !bare || !in_section || taken || !line.starts_with("heed ")) continue;
    DocCommand c{fmt::format("{}:{}", name, i + 1), without_comment(line)};
    while (!c.text.empty() && c.text.back() == '\\' && i + 1 < lines.size()) {
      c.text.pop_back();
      const std::string& next = lines[++i];
      c.text += ' ';  // appended piece by piece: GCC 12 warns falsely about " " + ... at -O3
      c.text += without_comment(next.substr(std::min(next.find_first_not_of(' '), next.size())));
    }
    out.push_back(c);
  }
  return out;
}

// Copies the lines of `from` for which `keep(line number from 0, line)` holds.
void copy_lines(const fs::path& from, const fs::path& to, const std::function<bool(std::size_t, const std::string&)>& keep) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line); ++n)
    if (keep(n, line)) out << line << '\n';
}

void copy_head(const fs::path& from, const fs::path& to, std::size_t lines) {
  copy_lines(from, to, [lines](std::size_t n, const std::string&) { return n < lines; });
}

// MovieLens-100K's files, cut to the ratings of its first 30 users.
void small_movielens(const fs::path& to) {
  fs::create_directories(to);
  const fs::path from = kShared / "ml-100k" / "original";
  for (const char* whole : {"u.user", "u.item", "u.genre", "u.occupation"})
    if (fs::exists(from / whole)) fs::copy_file(from / whole, to / whole);
  for (const char* ratings : {"u.data", "u1.base", "u1.test"})
    copy_lines(from / ratings, to / ratings, [](std::size_t, const std::string& line) {
      return std::stoi(line.substr(0, line.find('\t'))) <= 30;
    });
}

void small_frappe(const fs::path& to) {
  fs::create_directories(to);
  copy_head(kShared / "frappe" / "frappe.validation.libfm", to / "frappe.validation.libfm", 3000);
  copy_head(kShared / "frappe" / "frappe.test.libfm", to / "frappe.test.libfm", 1000);
}

void small_kaggle_head(const std::string& name, const fs::path& to) {
  fs::create_directories(to);
  copy_head(kShared / name / "train.csv", to / "train.csv", 1500);
  copy_head(kShared / name / "dev.csv", to / "dev.csv", 300);
  copy_head(kShared / name / "test.csv", to / "test.csv", 300);
}

TEST(DocsCommands, EveryReadmeAndDocsCommandRunsInOrder) {
  for (const char* needed : {"ml-100k/original/u.data", "frappe/frappe.validation.libfm", "criteo-head/train.csv",
                             "avazu-head/train.csv"})
    if (!fs::exists(kShared / needed))
      GTEST_SKIP() << (kShared / needed) << " not found: the docs' commands read the shared datasets";
  if (testing::kSanitizerBuild)
    GTEST_SKIP() << "trains about a hundred small models; the Release suite runs it";

  std::vector<DocCommand> commands = commands_in(kSource / "README.md", "README.md", "## Using it");
  ASSERT_GE(commands.size(), 10u) << "README.md's \"Using it\" block was not found";
  std::vector<fs::path> docs;
  for (const auto& entry : fs::directory_iterator(kSource / "docs"))
    if (entry.path().extension() == ".md") docs.push_back(entry.path());
  std::sort(docs.begin(), docs.end());
  for (const fs::path& doc : docs) {
    const auto found = commands_in(doc, "docs/" + doc.filename().string());
    commands.insert(commands.end(), found.begin(), found.end());
  }

  testing::TempDir dir("docs_commands");
  const fs::path shared = dir / "shared" / "datasets", work = dir / "work", logs = dir / "logs";
  fs::create_directories(work);
  fs::create_directories(logs);
  small_movielens(shared / "ml-100k" / "original");
  small_frappe(shared / "frappe");
  small_kaggle_head("criteo-head", shared / "criteo-head");
  small_kaggle_head("avazu-head", shared / "avazu-head");
  fs::create_directory_symlink(kSource / "examples", work / "examples");

  // Every command: heed on the PATH, no network, and the admin token docs/serving.md uses.
  const std::string environment = fmt::format(
      "cd '{}' && export PATH='{}':\"$PATH\" https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 "
      "HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 TOKEN=docs-test-token "
      // About a hundred short runs on a shared machine: threads that sleep while they wait
      // instead of spinning keep the walk from slowing to a crawl under load.
      "OMP_WAIT_POLICY=passive && ",
      work.string(), fs::path(testing::heed_binary()).parent_path().string());
  const std::regex download(R"(^heed download (\S+) --out (\S+))");
  std::size_t ran = 0;
  for (const DocCommand& c : commands) {
    SCOPED_TRACE(c.where + ": " + c.text);
    std::string command = c.text;
    if (command.starts_with("heed synth ")) command = std::regex_replace(command, std::regex("--rows \\d+"), "--rows 1500");
    std::smatch is_download;
    if (std::regex_search(command, is_download, download)) {
      const std::string name = is_download[1], out = is_download[2];
      const auto r = testing::run_command(environment + command, logs);
      EXPECT_EQ(r.status, 1) << r.out << r.err;
      EXPECT_NE(r.err.find("the network is unreachable"), std::string::npos) << r.err;
      std::error_code none;
      for (auto it = fs::recursive_directory_iterator(work / out, none); it != fs::recursive_directory_iterator();
           ++it)
        EXPECT_NE(it->path().extension(), ".part") << it->path() << " was left behind";
      if (name == "ml-100k") small_movielens(work / out / "ml-100k");
      else if (name == "frappe") small_frappe(work / out);
      else ADD_FAILURE() << "no small copy of " << name << " to stand in for its download";
      ++ran;
      continue;
    }
    if (command.starts_with("heed serve ")) {
      const auto r = testing::run_command(environment + "timeout 4 " + command, logs);
      // A port another program holds is this machine's business, not the docs'.
      if (r.err.find("cannot listen on") == std::string::npos) {
        EXPECT_EQ(r.status, 124) << "heed serve stopped on its own:\n" << r.out << r.err;
      }
      ++ran;
      continue;
    }
    const auto r = testing::run_command(environment + command, logs);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    ++ran;
  }
  EXPECT_GE(ran, 25u);
}

// The extraction itself: a command in a bare block is found with its continuation lines and
// without its comment; commands in ```toml blocks and prose are not.
TEST(DocsCommands, ExtractsCommandsFromBareBlocksOnly) {
  testing::TempDir dir("docs_extract");
  testing::write_file(dir / "page.md",
                      "Run `heed train x` in prose.\n"
                      "```toml\nheed = 1\n```\n"
                      "```\nheed synth --out a --rows 9   # comment\n"
                      "heed ablate c.toml --seeds 2 \\\n    --set x=1\n"
                      "bash bench/run.sh\n```\n");
  const auto found = commands_in(dir / "page.md", "page.md");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].text, "heed synth --out a --rows 9");
  EXPECT_EQ(found[0].where, "page.md:6");
  EXPECT_EQ(found[1].text, "heed ablate c.toml --seeds 2  --set x=1");
}

}  // namespace
}  // namespace heed
