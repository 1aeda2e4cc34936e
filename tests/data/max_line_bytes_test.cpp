// data.max_line_bytes: a data line longer than the configured limit is an error naming the file
// and line, before anything of that size is held; lines within it load as usual.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/synthetic_data.h"
#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "data/dataset_loader.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

TEST(MaxLineBytes, ALongerLineIsAnErrorNamingFileAndLine) {
  testing::TempDir dir("max_line_bytes");
  const auto files = testing::write_synthetic_data(dir.path());
  std::string text = testing::synthetic_rows(20, 5, true);
  std::string history = "1";
  for (int i = 0; i < 400; ++i) history += "|7";  // an 800-byte sequence cell on line 12
  std::size_t at = 0;
  for (int line = 1; line < 12; ++line) at = text.find('\n', at) + 1;
  const std::size_t end = text.find('\n', at);
  std::string row = text.substr(at, end - at);
  std::vector<std::string> cells;
  for (std::size_t from = 0;;) {
    const std::size_t tab = row.find('\t', from);
    cells.push_back(row.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
    if (tab == std::string::npos) break;
    from = tab + 1;
  }
  cells[4] = history;
  row.clear();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) row += '\t';
    row += cells[i];
  }
  text.replace(at, end - at, row);
  const auto path = dir.path() / "long.tsv";
  testing::write_file(path, text);

  const Config limited = load_config(files.config, {"data.max_line_bytes=512"});
  const Schema schema = Schema::from_config(limited);
  const std::string message = HEED_ERROR_MESSAGE(load_dataset(path, limited, schema), Error);
  EXPECT_THAT(message, HasSubstr(path.string() + ":12"));
  EXPECT_THAT(message, HasSubstr("longer than data.max_line_bytes = 512"));

  const Config roomy = load_config(files.config, {"data.max_line_bytes=4096"});
  EXPECT_EQ(load_dataset(path, roomy, schema).rows, 20u);
}

TEST(MaxLineBytes, TheLimitItselfIsChecked) {
  testing::TempDir dir("max_line_bytes_key");
  const auto files = testing::write_synthetic_data(dir.path());
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_config(files.config, {"data.max_line_bytes=0"}), Error),
              HasSubstr("data.max_line_bytes"));
}

}  // namespace
}  // namespace heed
