// Every input kept under fuzz/corpus/<target>/ (seeds, and cases the fuzzers once found) replayed
// through the same entry the libFuzzer target calls: each must end in a result or a
// heed::Error, never another exception (a crash would end the test binary, and fail it too).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "../support/test_files.h"
#include "fuzz_entries.h"

namespace heed {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::function<void(std::string_view)>>& entries() {
  static const std::map<std::string, std::function<void(std::string_view)>> all{
      {"rows_tsv", [](std::string_view b) { fuzz::rows(b, "tsv"); }},
      {"rows_csv", [](std::string_view b) { fuzz::rows(b, "csv"); }},
      {"config", [](std::string_view b) { fuzz::config(b); }},
      {"checkpoint", [](std::string_view b) { fuzz::checkpoint(b); }},
      {"request", [](std::string_view b) { fuzz::request(b); }},
  };
  return all;
}

class FuzzCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzCorpus, EveryKeptInputEndsInAResultOrAnError) {
  const fs::path dir = fs::path(HEED_SOURCE_DIR) / "fuzz" / "corpus" / GetParam();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing";
  std::size_t inputs = 0;
  for (const auto& file : fs::directory_iterator(dir)) {
    const std::string bytes = testing::read_file(file.path());
    EXPECT_NO_THROW(entries().at(GetParam())(bytes)) << file.path();
    ++inputs;
  }
  EXPECT_GT(inputs, 0u) << "no inputs under " << dir;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus,
                         ::testing::Values("rows_tsv", "rows_csv", "config", "checkpoint", "request"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace heed
