#pragma once
// `heed prepare frappe`: the Frappe app-usage context data in its libFM one-hot files (the split
// published with the NFM paper: frappe.train.libfm, frappe.validation.libfm, frappe.test.libfm)
// turned into heed's TSVs with the ten named fields. Rules in docs/datasets.md.
#include <filesystem>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

struct FrappeOptions {
  std::filesystem::path source;  // folder with frappe.{train,validation,test}.libfm (plain or .gz)
  std::filesystem::path out;     // created if missing
  BadLinePolicy errors;       // malformed source lines: stop at the first, or skip and count
};

// Writes train.tsv, valid.tsv and test.tsv for each libFM file present (at least one must be),
// and prepare.json. Throws heed::ParseError (file, line, column) for a malformed line.
PrepareSummary prepare_frappe(const FrappeOptions& options);

}  // namespace heed::recipes
