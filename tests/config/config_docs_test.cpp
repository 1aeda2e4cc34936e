// docs/config.md carries the table of every key that `heed config --markdown` prints; this test
// fails when a key is added or changed without regenerating it:
//   ./build/heed config --markdown   (paste between the keys markers)
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/options.h"

namespace heed {
namespace {

TEST(ConfigDocs, KeyTableMatchesTheDeclarations) {
  std::ifstream in(std::string(HEED_SOURCE_DIR) + "/docs/config.md");
  ASSERT_TRUE(in) << "docs/config.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "<!-- keys:begin -->\n", end = "<!-- keys:end -->";
  const auto from = doc.find(begin), to = doc.find(end);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(doc.substr(from + begin.size(), to - from - begin.size()), options_markdown())
      << "docs/config.md is stale: regenerate its key table with `heed config --markdown`";
}

}  // namespace
}  // namespace heed
