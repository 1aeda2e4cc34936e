#pragma once
// `heed prepare taobao`: Taobao UserBehavior (Tianchi; CSV user_id, item_id, category_id,
// behavior_type, timestamp with behaviours pv, fav, cart, buy) turned into click-style rows:
// each page view is an impression, labelled 1 when the user goes on to favourite, cart or buy
// that item within label_window seconds; item and category histories hold what the user did
// strictly before the view. Rules in docs/datasets.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "prepare/recipes/bad_lines.h"
#include "prepare/recipes/recipe_output.h"

namespace heed::recipes {

struct TaobaoOptions {
  std::filesystem::path source;  // UserBehavior.csv (plain or .gz), or a folder holding it
  std::filesystem::path out;     // created if missing
  std::size_t max_history = 50;  // longest behaviour sequence kept (the most recent actions)
  std::int64_t label_window = 3600;  // seconds after a view in which a fav/cart/buy makes it a 1
  // The log's period [start, end): Tianchi's 2017-11-25 00:00 to 2017-12-04 00:00, China time
  // (UTC+8). Actions outside it (the file has a few) are skipped and counted.
  std::int64_t period_start = 1511539200;
  std::int64_t period_end = 1512316800;
  std::int64_t test_days = 1;   // the last test_days * 86400 s of the period are the test part
  // The valid_days before the test part are the validation part, built like test: every user's
  // views of those days, their label windows inside them. 0 writes no valid.tsv.
  std::int64_t valid_days = 1;
  double user_fraction = 1.0;   // keep the users whose stable hash falls below it (a subsample)
  // Most bytes of actions (16 each) sorted in memory at once. A larger source is spread by a
  // hash of the user over temporary bucket files in out/taobao_buckets.tmp, one sorted and
  // written at a time; every user's actions share a bucket, so the rows are the same, only
  // the order of users in the files changes.
  std::size_t bucket_bytes = std::size_t{256} << 20;
  // "click": a row per page view as described above. "next-item": the next-item task with
  // sampled negatives (next_item_task.h) over every user's actions of the period (any
  // behaviour) in time order; writes train, valid and test by each user's last pairs.
  std::string task = "click";
  // Malformed lines (bad_lines.h); a truncated last line, common at the end of a head of the
  // log, is one line.
  BadLinePolicy errors;
  std::uint64_t seed = 1;  // next-item: seeds the negative draws
};

PrepareSummary prepare_taobao(const TaobaoOptions& options);

}  // namespace heed::recipes
