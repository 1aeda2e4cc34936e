#include "config/config_loader.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "config/feature_defaults.h"
#include "config/options.h"
#include "core/error.h"

namespace heed {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> valid_keys(const std::vector<std::string>& feature_names) {
  std::vector<std::string> keys;
  for (const auto& o : run_options()) keys.push_back(o.key);
  for (const auto& name : feature_names)
    for (const auto& o : feature_options()) keys.push_back("features." + name + "." + o.key);
  return keys;
}

std::string unknown_key_message(const std::string& key, const std::string& where,
                                const std::vector<std::string>& feature_names) {
  std::string message = fmt::format("{}unknown config key '{}'", where, key);
  const std::string suggestion = closest_key(key, valid_keys(feature_names));
  if (!suggestion.empty()) message += fmt::format("; did you mean '{}'?", suggestion);
  message += " (heed config --keys lists every key)";
  return message;
}

std::string where_of(const std::string& source_name, const toml::node& node) {
  const auto& begin = node.source().begin;
  if (begin.line == 0) return fmt::format("{} (--set): ", source_name);
  return fmt::format("{}:{}:{}: ", source_name, begin.line, begin.column);
}

// --- overrides --------------------------------------------------------------------------------

std::vector<std::string> split_path(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Stores `text` under `leaf` of `target`: as a string for string options (so paths and
// delimiters need no quotes), as a TOML value otherwise.
void assign_override(toml::table& target, const std::string& leaf, const std::string& key,
                     const std::string& text, bool as_string) {
  if (as_string) {
    // Bare text is the string; text quoted as in a TOML file (--set 'senet.gate="relu"') is read
    // as TOML, so both spellings mean the same.
    const bool quoted = text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front();
    if (quoted) {
      try {
        toml::table holder = toml::parse("v = " + text);
        if (auto value = holder["v"].value<std::string>()) {
          target.insert_or_assign(leaf, *value);
          return;
        }
      } catch (const toml::parse_error&) {
      }
    }
    target.insert_or_assign(leaf, text);
    return;
  }
  try {
    toml::table holder = toml::parse("v = " + text);
    if (toml::node* v = holder.get("v")) {
      v->visit([&](auto&& n) { target.insert_or_assign(leaf, n); });
      return;
    }
  } catch (const toml::parse_error&) {
  }
  throw Error(fmt::format("--set {}={}: '{}' is not a TOML value", key, text, text));
}

std::vector<std::string> feature_names_of(const toml::table& root) {
  std::vector<std::string> names;
  if (const toml::table* features = root["features"].as_table())
    for (auto&& [name, node] : *features) names.emplace_back(name.str());
  return names;
}

// din.softmax = true|false, the key before din.normalize (model files saved before it have it),
// reads as din.normalize = "softmax"|"raw"; a file that gives both is ambiguous.
constexpr const char* kLegacyDinSoftmax = "softmax";

std::string normalize_of_legacy_softmax(bool softmax) { return softmax ? "softmax" : "raw"; }

void translate_legacy_keys(toml::table& root, const std::string& source_name) {
  toml::table* din = root["din"].as_table();
  if (!din || !din->contains(kLegacyDinSoftmax)) return;
  const toml::node& node = *din->get(kLegacyDinSoftmax);
  const auto* softmax = node.as_boolean();
  if (!softmax) throw Error(where_of(source_name, node) + "din.softmax must be true or false");
  if (din->contains("normalize"))
    throw Error(where_of(source_name, node) +
                "din.softmax is the older spelling of din.normalize; give only din.normalize");
  din->insert_or_assign("normalize", normalize_of_legacy_softmax(softmax->get()));
  din->erase(kLegacyDinSoftmax);
}

void apply_override(toml::table& root, const std::string& assignment) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--set '{}' must look like key=value, e.g. train.epochs=3", assignment));
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const std::vector<std::string> path = split_path(key);

  if (key == "din.softmax") {
    if (text != "true" && text != "false") throw Error(fmt::format("--set {}: must be true or false", key));
    if (!root["din"].is_table()) root.insert_or_assign("din", toml::table{});
    root["din"].as_table()->insert_or_assign("normalize", normalize_of_legacy_softmax(text == "true"));
    return;
  }

  if (path[0] == "features") {
    if (path.size() != 3) {
      throw Error(fmt::format("--set {}: feature keys look like features.NAME.KEY", key));
    }
    const auto* option = find_feature_option(path[2]);
    if (!option) throw Error(unknown_key_message(key, "--set: ", feature_names_of(root)));
    if (!root["features"].is_table()) root.insert_or_assign("features", toml::table{});
    toml::table& features = *root["features"].as_table();
    if (!features[path[1]].is_table()) features.insert_or_assign(path[1], toml::table{});
    assign_override(*features[path[1]].as_table(), path[2], key, text, option->takes_string());
    return;
  }
  const auto* option = find_run_option(key);
  if (!option || path.size() != 2)
    throw Error(unknown_key_message(key, "--set: ", feature_names_of(root)));
  if (!root[path[0]].is_table()) root.insert_or_assign(path[0], toml::table{});
  assign_override(*root[path[0]].as_table(), path[1], key, text, option->takes_string());
}

// --- the typed config ---------------------------------------------------------------------------

Config build_config(const toml::table& root, const std::string& source_name) {
  Config config = default_config();
  const std::vector<std::string> names = feature_names_of(root);

  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    if (section == "features") continue;
    const bool known = std::any_of(run_options().begin(), run_options().end(),
                                   [&](const auto& o) { return o.key.rfind(section + ".", 0) == 0; });
    const toml::table* table = section_node.as_table();
    if (!known || !table) throw Error(unknown_key_message(section, where_of(source_name, section_node), names));
    for (auto&& [key, value] : *table) {
      const std::string full_key = section + "." + std::string(key.str());
      const auto* option = find_run_option(full_key);
      if (!option) throw Error(unknown_key_message(full_key, where_of(source_name, value), names));
      try {
        option->assign(config, value, full_key);
      } catch (const Error& e) {
        throw Error(where_of(source_name, value) + e.what());
      }
    }
  }

  // Features keep the order they were written in; ones added by --set come last, by name.
  if (const toml::node* features_node = root.get("features")) {
    const toml::table* features = features_node->as_table();
    if (!features) throw Error(where_of(source_name, *features_node) + "features must be a table of [features.NAME] sections");
    std::vector<std::pair<std::string, const toml::table*>> ordered;
    for (auto&& [name, node] : *features) {
      const toml::table* t = node.as_table();
      if (!t) throw Error(where_of(source_name, node) + fmt::format("features.{} must be a table", name.str()));
      ordered.emplace_back(std::string(name.str()), t);
    }
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
      auto line = [](const toml::table* t) {
        const auto l = t->source().begin.line;
        return l == 0 ? std::numeric_limits<std::uint32_t>::max() : l;
      };
      return line(a.second) < line(b.second);
    });
    for (const auto& [name, table] : ordered) {
      FeatureConfig feature = default_feature(name);
      for (auto&& [key, value] : *table) {
        const std::string full_key = "features." + name + "." + std::string(key.str());
        const auto* option = find_feature_option(std::string(key.str()));
        if (!option) throw Error(unknown_key_message(full_key, where_of(source_name, value), names));
        try {
          option->assign(feature, value, full_key);
        } catch (const Error& e) {
          throw Error(where_of(source_name, value) + e.what());
        }
      }
      config.features.push_back(std::move(feature));
    }
  }
  resolve_feature_defaults(config, source_name);
  return config;
}

}  // namespace

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    // Compare against the last component too, so "train.epoch" and "epochs" both find "train.epochs".
    const std::size_t d = std::min(edit_distance(key, c), edit_distance(key, c.substr(c.rfind('.') + 1)));
    if (d < best_distance) best_distance = d, best = c;
  }
  const std::size_t tolerance = std::max<std::size_t>(2, key.size() / 3);
  return best_distance <= tolerance ? best : "";
}

Config parse_config(std::string_view toml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}:{}: {}", source_name, e.source().begin.line, e.source().begin.column,
                            e.description()));
  }
  translate_legacy_keys(root, source_name);
  for (const auto& assignment : overrides) apply_override(root, assignment);
  return build_config(root, source_name);
}

Config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open config file {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file.string(), overrides);
}

std::string to_toml(const Config& config) {
  std::ostringstream out;
  auto write_value = [&](const toml::node_ptr& node) { out << toml_value_text(*node); };
  std::string section;
  for (const auto& o : run_options()) {
    const std::string this_section = o.key.substr(0, o.key.find('.'));
    if (this_section != section) {
      out << (section.empty() ? "" : "\n") << "[" << this_section << "]\n";
      section = this_section;
    }
    out << o.key.substr(o.key.find('.') + 1) << " = ";
    write_value(o.current(config));
    out << "\n";
  }
  for (const auto& feature : config.features) {
    out << "\n[features." << feature.name << "]\n";
    for (const auto& o : feature_options()) {
      out << o.key << " = ";
      write_value(o.current(feature));
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace heed
