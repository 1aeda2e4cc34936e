#pragma once
// The columns `heed synth` writes, in file order, with the role each plays in the planted
// process. The TSV header, synth.json and the tests all read this one list.
#include <array>
#include <string_view>

namespace heed::synth {

struct ColumnInfo {
  std::string_view name;
  std::string_view role;  // label | id | pc | relevant | new_user_signal | history | noise
  std::string_view kind;  // label | sparse | multi_valued | sequence
  std::string_view description;
};

inline constexpr std::array<ColumnInfo, 15> kColumns = {{
    {"label", "label", "label", "1 if the impression was clicked, else 0"},
    {"user_id", "id", "sparse", "user identifier; active users' interests are tied to it"},
    {"user_group", "pc", "sparse",
     "new or active; decides which signals drive clicks (the POSO personalization field)"},
    {"age", "new_user_signal", "sparse", "age bucket; age x category affinity drives new users"},
    {"gender", "new_user_signal", "sparse", "m or f; gender x category affinity drives new users"},
    {"city", "relevant", "sparse", "weak per-city shift of the click rate for everyone"},
    {"item_id", "id", "sparse", "candidate item; carries its appeal and the repeat-click bonus"},
    {"item_category", "relevant", "sparse", "candidate category; matched against the history"},
    {"item_tags", "relevant", "multi_valued",
     "1-4 tags joined by |, mostly the category's own; each tag shifts the item's appeal"},
    {"hist_item_ids", "history", "sequence",
     "the user's earlier clicks, most recent last, joined by |; query: item_id"},
    {"hist_categories", "history", "sequence",
     "categories of hist_item_ids, position by position; query: item_category"},
    {"hour", "new_user_signal", "sparse", "hour of day 0-23; new users click more in the evening"},
    {"noise_a", "noise", "sparse", "uniform over 10 values, never read by the click process"},
    {"noise_b", "noise", "sparse", "uniform over 100 values, never read by the click process"},
    {"noise_c", "noise", "sparse", "uniform over 1000 values, never read by the click process"},
}};

}  // namespace heed::synth
