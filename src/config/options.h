#pragma once
// The declaration of every configuration key: name as users type it, type, default, check and
// help text, together with where its value lives in the typed Config. Loading, validation,
// `heed config --help`, saving into checkpoints and docs/config.md all read this one list.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config.h"

namespace toml { using node_ptr = std::unique_ptr<node>; }  // toml++ 3.3 has no alias of its own

namespace heed {

template <class Owner>
struct Option {
  std::string key;           // "train.epochs" for run options, "pooling" under features.NAME
  std::string type;          // "integer", "float", "boolean", "string", "list of ..."
  std::string default_text;  // the default as TOML
  std::string help;
  bool resumable = false;    // --resume may change it (a continued run keeps every other key)
  std::function<void(Owner&)> reset;  // writes the default
  // Type-checks and validates `value` and stores it; throws heed::Error naming `full_key`.
  std::function<void(Owner&, const toml::node& value, const std::string& full_key)> assign;
  // The current value as a TOML node, for the resolved config.
  std::function<toml::node_ptr(const Owner&)> current;
  // The member of Owner the value lives in (tests check that every member has one key).
  std::function<const void*(const Owner&)> member;

  bool takes_string() const { return type == "string"; }
};

// Options of a run: data.*, embedding.*, model.*, optimizer.*, train.*, eval.*.
const std::vector<Option<Config>>& run_options();
// Options of one feature, written under [features.NAME].
const std::vector<Option<FeatureConfig>>& feature_options();

// A config with every run option at its default and no features.
Config default_config();
// A feature named `name` with every feature option at its default.
FeatureConfig default_feature(const std::string& name);

// The keys --resume may change (declared with resumable()), in declaration order.
std::vector<std::string> resumable_keys();
// `saved` with the keys --resume may change taken from `requested`.
Config with_resumable_keys(Config saved, const Config& requested);

// The run option or feature option named `key` (relative to its owner), or nullptr.
const Option<Config>* find_run_option(const std::string& key);
const Option<FeatureConfig>* find_feature_option(const std::string& key);

// Every key as a Markdown table (the reference section of docs/config.md).
std::string options_markdown();

// A value as TOML, floats in their shortest form that reads back to the same double (0.1, not
// toml++'s 0.10000000000000001): what `heed config`, config.toml and messages show.
std::string toml_value_text(const toml::node& value);

}  // namespace heed
