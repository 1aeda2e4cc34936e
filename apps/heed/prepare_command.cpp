#include <cstdio>
#include <map>
#include <memory>

#include "commands.h"
#include "core/error.h"
#include "prepare/recipes/avazu.h"
#include "prepare/recipes/criteo.h"
#include "prepare/recipes/frappe.h"
#include "prepare/recipes/movielens.h"
#include "prepare/recipes/taobao.h"

namespace heed::cli {
namespace {

// "wrote 57722 valid and 28860 test rows to data/frappe", naming only the splits written, then
// the recipe's notes (a missing split and what to do instead).
void report(const recipes::PrepareSummary& summary, const std::string& out) {
  std::vector<std::string> parts;
  if (summary.train_rows > 0) parts.push_back(fmt::format("{} train", summary.train_rows));
  if (summary.valid_rows > 0) parts.push_back(fmt::format("{} valid", summary.valid_rows));
  if (summary.test_rows > 0) parts.push_back(fmt::format("{} test", summary.test_rows));
  std::string list;
  for (std::size_t i = 0; i < parts.size(); ++i)
    list += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  std::printf("wrote %s rows to %s\n", parts.empty() ? "no" : list.c_str(), out.c_str());
  if (summary.train_rows == 0 && summary.notes.empty())
    std::printf("note: no train.tsv was written: the source has no training rows\n");
  for (const std::string& note : summary.notes) std::printf("note: %s\n", note.c_str());
}

// --source and --out, which every recipe takes.
struct Paths {
  std::string source, out;
};

std::shared_ptr<Paths> add_paths(CLI::App* recipe, const std::string& source_help) {
  auto paths = std::make_shared<Paths>();
  recipe->add_option("--source", paths->source, source_help)->required();
  recipe->add_option("--out", paths->out, "Output folder for the TSVs and prepare.json")->required();
  return paths;
}

void add_split_fractions(CLI::App* recipe, recipes::HashSplit& split) {
  recipe->add_option("--valid-fraction", split.valid_fraction,
                     "One source file only: share of rows (by a stable hash) written to valid.tsv")
      ->capture_default_str();
  recipe->add_option("--test-fraction", split.test_fraction,
                     "One source file only: share of rows (by a stable hash) written to test.tsv")
      ->capture_default_str();
}

// --on-error and --max-skip-fraction, which every recipe has.
void add_bad_line_options(CLI::App* recipe, recipes::BadLinePolicy& errors) {
  recipe->add_option("--on-error", errors.on_error,
                     "fail: stop at the first malformed line (file, line, column); skip: leave it out, count it "
                     "and write it to OUT/rejected_lines.txt (as data.on_error in training)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, OnError>{{"fail", OnError::kFail},
                                                                          {"skip", OnError::kSkip}}))
      ->default_str("fail");
  recipe->add_option("--max-skip-fraction", errors.max_skip_fraction,
                     "With --on-error skip: stop anyway once more than this share of the lines was malformed")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
}

// --task and --seed of the recipes that can also write the next-item task.
void add_task_options(CLI::App* recipe, std::string& task, std::uint64_t& seed) {
  const std::string own = task;  // the recipe's default task
  recipe->add_option("--task", task,
                     own + ": the recipe's own rows; next-item: per user, the next event's item against an item "
                     "drawn uniformly from the log, with the same history; the last pair of each user is "
                     "test, the one before valid")
      ->check(CLI::IsMember({own, std::string("next-item")}))
      ->capture_default_str();
  recipe->add_option("--seed", seed, "With --task next-item: seed of the negative draws")->capture_default_str();
}

void add_movielens(CLI::App* prepare, const std::string& name, const std::string& help,
                   const std::string& source_help, const std::string& default_split,
                   recipes::PrepareSummary (*run)(const recipes::MovieLensOptions&)) {
  auto options = std::make_shared<recipes::MovieLensOptions>();
  options->split = default_split;
  CLI::App* ml = prepare->add_subcommand(name, help);
  auto paths = add_paths(ml, source_help);
  ml->add_option("--split", options->split,
                 name == "ml-100k" ? "u1..u5, ua, ub (GroupLens splits) or time (each user's latest ratings)"
                                   : "time (each user's latest ratings are held out)")
      ->capture_default_str();
  ml->add_option("--max-history", options->max_history, "Longest behaviour sequence kept")->capture_default_str();
  ml->add_option("--test-fraction", options->time_test_fraction, "With --split time: each user's share held out")
      ->capture_default_str();
  add_task_options(ml, options->task, options->seed);
  add_bad_line_options(ml, options->errors);
  ml->callback([options, paths, run] {
    options->source = paths->source;
    options->out = paths->out;
    report(run(*options), paths->out);
  });
}

// A recipe that keeps a source's own train/dev/test files or splits its one file by hash
// (Criteo, Avazu): --source, --out and the split fractions.
template <class Options>
void add_hash_split_recipe(CLI::App* prepare, const std::string& name, const std::string& help,
                           const std::string& source_help, recipes::PrepareSummary (*run)(const Options&)) {
  auto options = std::make_shared<Options>();
  CLI::App* recipe = prepare->add_subcommand(name, help);
  auto paths = add_paths(recipe, source_help);
  add_split_fractions(recipe, options->split);
  add_bad_line_options(recipe, options->errors);
  recipe->callback([options, paths, run] {
    options->source = paths->source;
    options->out = paths->out;
    report(run(*options), paths->out);
  });
}

}  // namespace

void add_prepare_command(CLI::App& app) {
  CLI::App* prepare = app.add_subcommand("prepare", "Turn a public dataset's files into heed's training TSVs");
  prepare->require_subcommand(1);

  add_movielens(prepare, "ml-100k", "MovieLens-100K (GroupLens u.data, u.user, u.item)",
                "Folder holding u.data, u.user, u.item, u1.base, ...", "u1", recipes::prepare_movielens_100k);
  add_movielens(prepare, "ml-1m", "MovieLens-1M (GroupLens ratings.dat, users.dat, movies.dat)",
                "Folder holding ratings.dat, users.dat, movies.dat", "time", recipes::prepare_movielens_1m);

  auto frappe = std::make_shared<recipes::FrappeOptions>();
  CLI::App* frappe_app = prepare->add_subcommand("frappe", "Frappe app usage (libFM files of the NFM split)");
  auto frappe_paths = add_paths(frappe_app, "Folder holding frappe.train.libfm, frappe.validation.libfm, frappe.test.libfm");
  add_bad_line_options(frappe_app, frappe->errors);
  frappe_app->callback([frappe, frappe_paths] {
    frappe->source = frappe_paths->source;
    frappe->out = frappe_paths->out;
    report(recipes::prepare_frappe(*frappe), frappe_paths->out);
  });

  add_hash_split_recipe(prepare, "criteo", "Criteo display ads (Kaggle layout: label, I1..I13, C1..C26)",
                        "Folder with Kaggle's train.txt or train.csv/dev.csv/test.csv, or one file",
                        recipes::prepare_criteo);
  add_hash_split_recipe(prepare, "avazu", "Avazu mobile ads (Kaggle CSV: id, click, hour, ...)",
                        "Folder with Kaggle's train(.gz) or train.csv/dev.csv/test.csv, or one file",
                        recipes::prepare_avazu);

  auto taobao = std::make_shared<recipes::TaobaoOptions>();
  CLI::App* taobao_app = prepare->add_subcommand("taobao", "Taobao UserBehavior (Tianchi CSV: user, item, category, behaviour, time)");
  auto taobao_paths = add_paths(taobao_app, "UserBehavior.csv (plain or .gz), or a folder holding it");
  taobao_app->add_option("--max-history", taobao->max_history, "Longest behaviour sequence kept")->capture_default_str();
  taobao_app->add_option("--label-window", taobao->label_window,
                         "Seconds after a view in which a fav, cart or buy of the item makes its label 1")
      ->capture_default_str();
  taobao_app->add_option("--test-days", taobao->test_days, "Last days of the period held out as test")
      ->capture_default_str();
  taobao_app->add_option("--valid-days", taobao->valid_days,
                         "Days before the test days held out as validation, built as test is (0: no valid.tsv)")
      ->capture_default_str();
  add_task_options(taobao_app, taobao->task, taobao->seed);
  add_bad_line_options(taobao_app, taobao->errors);
  taobao_app->add_option("--period-start", taobao->period_start, "First second of the log (unix time)")
      ->capture_default_str();
  taobao_app->add_option("--period-end", taobao->period_end, "End of the log, exclusive (unix time)")
      ->capture_default_str();
  taobao_app->add_option("--user-fraction", taobao->user_fraction, "Keep this share of users (stable hash)")
      ->capture_default_str();
  auto bucket_mb = std::make_shared<std::size_t>(taobao->bucket_bytes >> 20);
  taobao_app->add_option("--bucket-mb", *bucket_mb,
                         "MiB of actions sorted in memory at once; a larger log is spread over "
                         "temporary files under --out")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  taobao_app->callback([taobao, taobao_paths, bucket_mb] {
    taobao->source = taobao_paths->source;
    taobao->out = taobao_paths->out;
    taobao->bucket_bytes = *bucket_mb << 20;
    report(recipes::prepare_taobao(*taobao), taobao_paths->out);
  });
}

}  // namespace heed::cli
