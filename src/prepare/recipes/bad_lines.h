#pragma once
// Malformed lines in a recipe's source files, handled as data.on_error is in training:
//   fail  the first one stops the recipe with its file, line and column;
//   skip  each is left out, counted by reason and written to OUT/rejected_lines.txt, and the
//         recipe still stops once more than max_skip_fraction of the lines read were bad.
// A recipe reads every source file through one BadLines, so the share and the rejected-lines
// file cover all of them.
#include <filesystem>
#include <string>

#include "config/choices.h"

#include <nlohmann/json.hpp>

#include "data/bad_rows.h"
#include "prepare/recipes/delimited_file.h"
#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

struct BadLinePolicy {
  OnError on_error = OnError::kFail;
  double max_skip_fraction = 0.01;
};

class BadLines {
 public:
  BadLines(const BadLinePolicy& policy, const std::filesystem::path& out);

  // Calls `convert()` on every record of `reader`. `convert` checks the current record and
  // throws ParseError before it writes or keeps anything, so a skipped record leaves no trace;
  // a record with the wrong number of fields is rejected the same way.
  template <class Convert>
  void read_all(DelimitedFile& reader, Convert&& convert) {
    while (true) {
      try {
        if (!reader.next()) return;
      } catch (const ParseError& problem) {
        reject(problem, reader.line());
        continue;
      }
      log_.count_row();
      try {
        convert();
      } catch (const ParseError& problem) {
        log_.reject(problem, reader.line());
      }
    }
  }

  // The recipe's end: throws when more than the allowed share was bad; otherwise, when lines
  // were skipped, records their counts in prepare.json and a note for the user.
  void finish(PrepareSummary& summary, nlohmann::ordered_json& json) const;

  // What was skipped, for a recipe that reports it in its own place (Taobao's counts).
  const BadRowLog& log() const { return log_; }

 private:
  void reject(const ParseError& problem, std::string_view line) {
    log_.count_row();
    log_.reject(problem, line);
  }

  BadRowLog log_;
};

}  // namespace heed::recipes
