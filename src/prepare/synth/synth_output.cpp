#include "prepare/synth/synth_output.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iterator>

#include "core/error.h"
#include "metrics/auc.h"
#include "prepare/synth/synth_columns.h"

namespace heed::synth {
namespace {

constexpr std::size_t kFlushBytes = 1 << 20;

void flush(std::ofstream& file, fmt::memory_buffer& buffer, const std::filesystem::path& path) {
  file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (!file) throw Error(fmt::format("cannot write {}", path.string()));
  buffer.clear();
}

void append_row(fmt::memory_buffer& out, const World& world, const ImpressionLog& log,
                const Impression& row, std::size_t max_history) {
  auto it = std::back_inserter(out);
  const User& user = world.users[row.user];
  const Item& item = world.items[row.item];
  fmt::format_to(it, "{}\tu{}\t{}\t{}\t{}\tcity{}\ti{}\tc{}\t", row.clicked ? 1 : 0, row.user,
                 group_name(user.group), kAgeBuckets[user.age], kGenderNames[user.gender],
                 user.city, row.item, item.category);
  fmt::format_to(it, "t{}", fmt::join(item.tags, "|t"));
  const auto history = log.history(row, max_history);
  out.push_back('\t');
  for (std::size_t k = 0; k < history.size(); ++k)
    fmt::format_to(it, "{}i{}", k == 0 ? "" : "|", history[k]);
  out.push_back('\t');
  for (std::size_t k = 0; k < history.size(); ++k)
    fmt::format_to(it, "{}c{}", k == 0 ? "" : "|", world.items[history[k]].category);
  fmt::format_to(it, "\t{}\t{}\t{}\t{}\n", row.hour, row.noise[0], row.noise[1], row.noise[2]);
}

double rate(std::size_t clicks, std::size_t rows) {
  return rows == 0 ? 0.0 : static_cast<double>(clicks) / static_cast<double>(rows);
}

// AUC of the planted probabilities of the rows `keep` selects.
template <typename Keep>
double planted_auc_of(std::span<const Impression> rows, Keep keep) {
  std::vector<float> scores, labels;
  for (const Impression& row : rows) {
    if (!keep(row)) continue;
    scores.push_back(row.probability);
    labels.push_back(row.clicked ? 1.0f : 0.0f);
  }
  return metrics::auc(scores, labels);
}

}  // namespace

SplitStats split_stats(std::string_view name, const World& world, std::span<const Impression> rows) {
  SplitStats stats{name, rows.size(), 0, {}};
  for (const Impression& row : rows) stats.clicks += row.clicked ? 1 : 0;
  const auto is_new = [&world](const Impression& row) {
    return world.users[row.user].group == UserGroup::kNew;
  };
  stats.planted_auc.all = planted_auc_of(rows, [](const Impression&) { return true; });
  stats.planted_auc.active = planted_auc_of(rows, [&](const Impression& r) { return !is_new(r); });
  stats.planted_auc.new_users = planted_auc_of(rows, is_new);
  return stats;
}

void write_tsv(const std::filesystem::path& path, const World& world, const ImpressionLog& log,
               std::span<const Impression> rows, std::size_t max_history) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw Error(fmt::format("cannot create {}", path.string()));
  fmt::memory_buffer buffer;
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    fmt::format_to(std::back_inserter(buffer), "{}{}", c == 0 ? "" : "\t", kColumns[c].name);
  }
  buffer.push_back('\n');
  for (const Impression& row : rows) {
    append_row(buffer, world, log, row, max_history);
    if (buffer.size() >= kFlushBytes) flush(file, buffer, path);
  }
  flush(file, buffer, path);
}

nlohmann::ordered_json manifest(const Options& options, const World& world,
                                const ClickParams& params, const ImpressionLog& log,
                                const std::vector<SplitStats>& splits) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["generator"] = "heed synth";
  j["format_version"] = 1;
  j["description"] =
      "Synthetic click log. Each user is simulated in time order; an impression shows a "
      "candidate item and is clicked with a planted probability sigmoid(logit). Active users "
      "(long histories mixing 2-4 interest categories) click mostly when many of their last 50 "
      "clicks share the candidate's category or topic (a saturating count, not an average); new "
      "users (empty or short histories) click by age x category and gender x category affinity "
      "and more in the evening. Every impression also gets the item's appeal (popularity and "
      "tags), a small city shift and a bonus if the candidate itself was clicked recently. "
      "noise_a, noise_b and noise_c are drawn independently and "
      "never read. See docs/synth.md.";
  j["parameters"] = {
      {"rows", options.rows}, {"seed", options.seed}, {"max_history", options.max_history}};

  const std::size_t new_users = world.new_users();
  j["world"] = {{"users", world.users.size()},
                {"new_users", new_users},
                {"active_users", world.users.size() - new_users},
                {"items", world.items.size()},
                {"categories", kCategories},
                {"topics", kTopics},
                {"categories_per_topic", kCategoriesPerTopic},
                {"tags", kTags},
                {"cities", kCities},
                {"age_buckets", kAgeBuckets.size()},
                {"days", kDays}};

  j["process"] = {{"relevance_window", kRelevanceWindow},
                  {"interest_candidate_share", kInterestCandidateShare},
                  {"active_base", params.active_base},
                  {"new_base", params.new_base},
                  {"active_history_weight", params.active_history_weight},
                  {"new_history_weight", params.new_history_weight},
                  {"active_demographic_weight", params.active_demographic_weight},
                  {"new_demographic_weight", params.new_demographic_weight},
                  {"new_hour_weight", params.new_hour_weight},
                  {"topic_similarity", params.topic_similarity},
                  {"saturation", params.saturation},
                  {"repeat_weight", params.repeat_weight}};

  ordered_json split = {
      {"rule",
       "by time: all rows sorted by impression time; the first 80% are train, the next 10% "
       "valid, the last 10% test"}};
  std::size_t all_rows = 0, all_clicks = 0;
  for (const SplitStats& s : splits) {
    split[std::string(s.name) + "_rows"] = s.rows;
    all_rows += s.rows;
    all_clicks += s.clicks;
  }
  j["split"] = split;

  ordered_json rates = {{"all", rate(all_clicks, all_rows)}};
  for (const SplitStats& s : splits) rates[std::string(s.name)] = rate(s.clicks, s.rows);
  std::size_t group_rows[2] = {0, 0}, group_clicks[2] = {0, 0};  // [0] new, [1] active
  for (const Impression& row : log.rows) {
    const std::size_t g = world.users[row.user].group == UserGroup::kNew ? 0 : 1;
    ++group_rows[g];
    group_clicks[g] += row.clicked ? 1 : 0;
  }
  rates["new"] = rate(group_clicks[0], group_rows[0]);
  rates["active"] = rate(group_clicks[1], group_rows[1]);
  j["click_rate"] = rates;
  j["rows_by_group"] = {{"new", group_rows[0]}, {"active", group_rows[1]}};

  // The ceiling a model's AUC can be read against, per split and user group.
  ordered_json planted = {
      {"description",
       "AUC of the planted click probability itself, per split and user group: the best AUC "
       "any model can reach on these labels"}};
  for (const SplitStats& s : splits) {
    planted[std::string(s.name)] = {{"all", s.planted_auc.all},
                                    {"active", s.planted_auc.active},
                                    {"new", s.planted_auc.new_users}};
  }
  j["planted_auc"] = planted;

  ordered_json columns = ordered_json::array();
  for (const ColumnInfo& c : kColumns) {
    columns.push_back(
        {{"name", c.name}, {"role", c.role}, {"kind", c.kind}, {"description", c.description}});
  }
  j["columns"] = columns;
  return j;
}

}  // namespace heed::synth
