#include <cstdio>

#include "commands.h"
#include "core/error.h"
#include "data/recipes/movielens.h"

namespace heed::cli {

void add_prepare_command(CLI::App& app) {
  CLI::App* prepare = app.add_subcommand("prepare", "Turn a public dataset's files into heed's training TSVs");
  prepare->require_subcommand(1);

  auto ml = std::make_shared<recipes::MovieLensOptions>();
  auto source = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  CLI::App* ml100k = prepare->add_subcommand("ml-100k", "MovieLens-100K (GroupLens u.data, u.user, u.item)");
  ml100k->add_option("--source", *source, "Folder holding u.data, u.user, u.item, u1.base, ...")->required();
  ml100k->add_option("--out", *out, "Output folder for train.tsv, test.tsv and prepare.json")->required();
  ml100k->add_option("--split", ml->split, "u1..u5, ua, ub (GroupLens splits) or time (each user's latest ratings)")
      ->capture_default_str();
  ml100k->add_option("--max-history", ml->max_history, "Longest behaviour sequence kept")->capture_default_str();
  ml100k->add_option("--test-fraction", ml->time_test_fraction, "With --split time: each user's share held out")
      ->capture_default_str();
  ml100k->callback([ml, source, out] {
    ml->source = *source;
    ml->out = *out;
    const auto summary = recipes::prepare_movielens_100k(*ml);
    std::printf("wrote %zu train and %zu test rows to %s\n", summary.train_rows, summary.test_rows, out->c_str());
  });
}

}  // namespace heed::cli
