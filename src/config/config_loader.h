#pragma once
// Reading a run's configuration: a TOML file, then `--set a.b=v` overrides, every key checked
// against the declarations in options.cpp. Writing it back resolved (every key, defaults
// filled in) is what checkpoints store.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace heed {

// Loads `file` and applies `overrides` ("a.b=v", in order). Relative data paths stay as
// written. Throws heed::Error naming the file, line and key of any problem.
Config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// The same from TOML text; `source_name` names it in messages.
Config parse_config(std::string_view toml_text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {});

// The resolved configuration as TOML text: every key, in declaration order, features in
// their own order. parse_config(to_toml(c)) == c.
std::string to_toml(const Config& config);

// The key closest to `key` among `candidates` (edit distance), or "" when nothing is close.
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace heed
