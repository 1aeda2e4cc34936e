#include "ablate/ablation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ablate/eta.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "train/trainer.h"

namespace heed::ablate {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double number_at(const Json& j, const char* section, const char* key) {
  if (!j.contains(section) || !j[section].is_object()) return kNaN;
  const Json& s = j[section];
  return s.contains(key) && s[key].is_number() ? s[key].get<double>() : kNaN;
}

// The config of one run: the variant's with the seed.
Config run_config(const Variant& variant, std::uint64_t seed) {
  Config c = variant.config;
  c.train.seed = seed;
  return c;
}

// The first line where the resolved TOML of two configs differs, or "" when they are equal.
// train.progress only changes what is printed, so it may differ.
std::string first_difference(Config saved, const Config& wanted) {
  saved.train.progress = wanted.train.progress;
  const std::string a = to_toml(saved), b = to_toml(wanted);
  if (a == b) return {};
  std::istringstream sa(a), sb(b);
  std::string la, lb, section;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) return "the configs differ";
    if (!more_a) la.clear();
    if (!more_b) lb.clear();
    if (!lb.empty() && lb[0] == '[') section = lb;
    if (la != lb)
      return fmt::format("{} '{}' was trained, this run asks for '{}'", section, la, lb);
  }
}

bool complete_metrics(const fs::path& path) {
  if (!fs::exists(path)) return false;
  try {
    const Json j = Json::parse(read_text(path));
    // The trainer writes metrics.json once, atomically, after the last epoch.
    return j.contains("history") && j.contains("dense_parameters") && j.contains("embedding_rows");
  } catch (const std::exception&) {
    return false;
  }
}

enum class RunState { kFresh, kResume, kReuse };

// What to do with a run folder; throws when it holds another config's run.
RunState plan_run(const fs::path& dir, const Config& wanted, const fs::path& out) {
  const fs::path config_file = dir / "config.toml";
  if (!fs::exists(config_file)) return RunState::kFresh;
  Config saved;
  try {
    saved = parse_config(read_text(config_file), config_file.string());
  } catch (const Error& e) {
    throw Error(fmt::format("{} cannot be read back ({}); pick another --out or delete {}",
                            config_file.string(), e.what(), out.string()));
  }
  const std::string difference = first_difference(saved, wanted);
  if (!difference.empty())
    throw Error(
        fmt::format("{} holds a run of a different config ({}); pick another --out or delete {}",
                    dir.string(), difference, out.string()));
  if (complete_metrics(dir / "metrics.json")) return RunState::kReuse;
  if (fs::exists(dir / "checkpoint")) return RunState::kResume;
  return RunState::kFresh;
}

std::string fixed(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("n/a");
}

}  // namespace

Config prepare_base_config(const Config& config, const AblationOptions& options,
                           std::vector<std::string>& notes) {
  Config c = config;
  if (c.data.valid.empty() && c.data.valid_fraction <= 0) {
    c.data.valid_fraction = kDefaultValidFraction;
    notes.push_back(
        fmt::format("the config has no validation split: {:.0f}% of {} is held out by a stable "
                    "hash (data.valid_fraction = {})",
                    kDefaultValidFraction * 100, c.data.train, kDefaultValidFraction));
  }
  if (!options.slice.empty() && options.slice != c.eval.slice) {
    c.eval.slice = options.slice;
    notes.push_back(fmt::format("AUC per value of '{}' (eval.slice)", options.slice));
  }
  if (options.threads) {
    if (*options.threads < 0)
      throw Error(fmt::format("--threads {} must be 0 (every core) or more", *options.threads));
    c.train.threads = *options.threads;
  }
  return c;
}

RunResult read_run(const fs::path& run_dir, std::uint64_t seed, const std::string& slice,
                   std::int64_t embedding_dim) {
  const fs::path path = run_dir / "metrics.json";
  if (!complete_metrics(path))
    throw Error(fmt::format("{} is missing or incomplete", path.string()));
  const Json j = Json::parse(read_text(path));
  RunResult r;
  r.seed = seed;
  r.valid_auc = number_at(j, "valid", "auc");
  r.valid_logloss = number_at(j, "valid", "logloss");
  r.test_auc = number_at(j, "test", "auc");
  r.test_gauc = number_at(j, "test", "gauc");
  r.test_logloss = number_at(j, "test", "logloss");
  if (!slice.empty() && j.contains("test") && j["test"].contains("slices") &&
      j["test"]["slices"].contains(slice)) {
    for (const auto& [value, m] : j["test"]["slices"][slice].items())
      r.slice_auc.emplace_back(
          value, m.contains("auc") && m["auc"].is_number() ? m["auc"].get<double>() : kNaN);
    std::sort(r.slice_auc.begin(), r.slice_auc.end());
  }
  for (const Json& epoch : j["history"])
    if (epoch.contains("seconds") && epoch["seconds"].is_number())
      r.train_seconds += epoch["seconds"].get<double>();
  r.dense_parameters = j["dense_parameters"].get<std::int64_t>();
  r.embedding_rows = j["embedding_rows"].get<std::int64_t>();
  r.parameters = r.dense_parameters + r.embedding_rows * embedding_dim;
  r.best_epoch = j.value("best_epoch", std::int64_t{0});
  r.epochs_run = j.value("epochs_run", std::int64_t{0});
  return r;
}

AblationResult run_ablation(const Config& config, const AblationOptions& options) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  if (options.out.empty()) throw Error("ablate needs an output folder (--out)");
  if (options.seeds.empty()) throw Error("ablate needs at least one seed");
  for (std::size_t i = 0; i < options.seeds.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (options.seeds[i] == options.seeds[k])
        throw Error(fmt::format("seed {} is listed twice", options.seeds[i]));

  AblationResult result;
  result.base = prepare_base_config(config, options, result.notes);
  result.seeds = options.seeds;
  result.slice = result.base.eval.slice;

  std::vector<Variant> variants = derive_variants(result.base);
  // An unknown reference fails here, by name; a known one is named as derived (no-poso of a
  // config without POSO is the full model itself).
  result.reference =
      select_variants(variants, {options.reference.empty() ? "plain" : options.reference})
          .front()
          .name;
  if (!options.variants.empty()) {
    std::vector<std::string> names = options.variants;
    if (std::find(names.begin(), names.end(), result.reference) == names.end()) {
      names.push_back(result.reference);
      result.notes.push_back(result.reference +
                             " was added: it is the reference every difference is measured against");
    }
    variants = select_variants(variants, names);
  }
  for (const std::string& note : result.notes) log(std::string("note: ") + note);

  // Plan every run before training any, so a folder of another config stops the ablation at once.
  struct Planned {
    std::size_t variant;
    std::uint64_t seed;
    Config config;
    fs::path dir;
    RunState state;
  };
  std::vector<Planned> plan;
  for (std::size_t v = 0; v < variants.size(); ++v)
    for (std::uint64_t seed : options.seeds) {
      Planned p{v, seed, run_config(variants[v], seed),
                options.out / variants[v].name / fmt::format("seed-{}", seed), RunState::kFresh};
      p.state = plan_run(p.dir, p.config, options.out);
      plan.push_back(std::move(p));
    }
  fs::create_directories(options.out);

  for (const Variant& v : variants) result.variants.push_back(VariantResult{v, {}});
  std::size_t to_train = 0, trained = 0;
  for (const Planned& p : plan) to_train += p.state == RunState::kReuse ? 0 : 1;
  double training_seconds = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    const auto started = std::chrono::steady_clock::now();
    const std::string name =
        fmt::format("[{}/{}] {} ({}), seed {}", i + 1, plan.size(), variants[p.variant].name,
                    variants[p.variant].description(), p.seed);
    std::string status = "reused";
    if (p.state == RunState::kReuse) {
      log(name + ": finished earlier, reused");
    } else {
      bool resumed = false;
      if (p.state == RunState::kResume) {
        log(name + ": resuming from " + (p.dir / "checkpoint").string());
        try {
          train(p.config, TrainOptions{p.dir, /*resume=*/true});
          resumed = true;
        } catch (const Error& e) {
          log(name + ": cannot resume (" + e.what() + "); training from scratch");
        }
      }
      if (!resumed) {
        log(name + ": training into " + p.dir.string());
        fs::remove(p.dir / "metrics.json");
        train(p.config, TrainOptions{p.dir, /*resume=*/false});
      }
      status = resumed ? "resumed" : "trained";
      training_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      ++trained;
    }
    RunResult r = read_run(p.dir, p.seed, result.slice, p.config.embedding.dim);
    r.dir = (fs::path(variants[p.variant].name) / fmt::format("seed-{}", p.seed)).string();
    r.status = status;
    const std::string eta = eta_text(training_seconds, trained, to_train - trained);
    log(fmt::format("{}: valid AUC {}, test AUC {}, {:.1f} s, {} parameters{}", name,
                    fixed(r.valid_auc, 5), fixed(r.test_auc, 5), r.train_seconds, r.parameters,
                    eta.empty() ? "" : "; " + eta));
    result.variants[p.variant].runs.push_back(std::move(r));
  }
  return result;
}

}  // namespace heed::ablate
