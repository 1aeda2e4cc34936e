#include <cstdio>

#include "commands.h"
#include "core/error.h"
#include "prepare/synth/shop_behavior_log.h"
#include "prepare/synth/shop_generator.h"
#include "prepare/synth/synth_generator.h"

namespace heed::cli {

namespace {

struct SynthArgs {
  synth::Options options;
  std::string world = "demo";
  std::string format = "next-item";
};

void run_demo(const synth::Options& options) {
  const auto s = synth::generate(options);
  std::printf("wrote %zu train, %zu valid and %zu test rows (click rate %.3f) to %s\n", s.train_rows, s.valid_rows,
              s.test_rows, s.click_rate, options.out.string().c_str());
  std::printf("the planted click probability itself reaches test AUC %.4f (active users %.4f, new users %.4f): "
              "the ceiling for any model\n",
              s.test_planted_auc.all, s.test_planted_auc.active, s.test_planted_auc.new_users);
}

void run_shop(const synth::Options& options, bool rows_given, const std::string& format) {
  synth::ShopOptions shop;
  shop.out = options.out;
  shop.seed = options.seed;
  shop.max_history = options.max_history;
  if (rows_given) shop.events = options.rows;
  if (format == "userbehavior") {
    const auto s = synth::write_behavior_log(shop.out, shop.seed, shop.events);
    std::printf("wrote %zu page views and %zu fav/cart/buy actions to %s/UserBehavior.csv "
                "(for heed prepare taobao)\n",
                s.views, s.engagements, shop.out.string().c_str());
    return;
  }
  const auto s = synth::generate_shop(shop);
  std::printf("shop world: %zu users, %zu events on %zu items in %zu categories\n", s.users, s.events,
              s.items_seen, s.categories_seen);
  std::printf("wrote %zu train, %zu valid and %zu test rows (next-item pairs, half positive) to %s\n",
              s.train_rows, s.valid_rows, s.test_rows, shop.out.string().c_str());
  std::printf("the planted probability itself reaches test AUC %.4f (valid %.4f): the ceiling for any model\n",
              s.test_planted_auc, s.valid_planted_auc);
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto args = std::make_shared<SynthArgs>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("synth", "Generate demo data from a known process (see docs/synth.md)");
  cmd->add_option("--out", *out, "Output folder for train.tsv, valid.tsv, test.tsv and synth.json")->required();
  cmd->add_option("--world", args->world,
                  "demo: impressions and clicks made for SENet, DIN and POSO; shop: an e-commerce browsing "
                  "log as a next-item task with sampled negatives")
      ->check(CLI::IsMember({"demo", "shop"}))
      ->capture_default_str();
  CLI::Option* rows = cmd->add_option("--rows", args->options.rows,
                                      "demo: rows over all splits (default 200000); shop: events of the log "
                                      "(default 40000, about 50 per user)");
  cmd->add_option("--format", args->format,
                  "shop only: next-item writes the next-item task's TSVs; userbehavior writes the log itself "
                  "as Taobao's UserBehavior.csv (views, then fav/cart/buy with a planted probability)")
      ->check(CLI::IsMember({"next-item", "userbehavior"}))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the generator")->capture_default_str();
  cmd->add_option("--max-history", args->options.max_history, "Longest behaviour sequence written")
      ->capture_default_str();
  cmd->callback([args, out, rows] {
    args->options.out = *out;
    if (args->world == "shop") {
      run_shop(args->options, rows->count() > 0, args->format);
    } else {
      if (args->format != "next-item") throw Error("synth: --format applies to --world shop only");
      run_demo(args->options);
    }
  });
}

}  // namespace heed::cli
