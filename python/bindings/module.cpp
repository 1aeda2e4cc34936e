// The `heed._heed` extension: heed's library behind the entry points its command line uses
// (train, predict, eval, explain, ablate, synth, prepare) and the scoring of `/v1/score`. The
// Python package (python/heed/__init__.py) wraps it in the documented API; this file turns
// heed's errors into Python exceptions and lets go of the GIL while heed works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <optional>
#include <map>
#include <sstream>
#include <variant>

#include "ablate/ablation.h"
#include "ablate/ablation_report.h"
#include "ablate/ablation_summary.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "config/options.h"
#include "core/error.h"
#include "core/threads.h"
#include "data/dataset_loader.h"
#include "eval/evaluation.h"
#include "explain/explanation.h"
#include "explain/explanation_json.h"
#include "explain/html_report.h"
#include "frame_table.h"
#include "model/scorer.h"
#include "prepare/recipes/avazu.h"
#include "prepare/recipes/criteo.h"
#include "prepare/recipes/frappe.h"
#include "prepare/recipes/movielens.h"
#include "prepare/recipes/taobao.h"
#include "prepare/synth/shop_behavior_log.h"
#include "prepare/synth/shop_generator.h"
#include "prepare/synth/synth_generator.h"
#include "serve/request_error.h"
#include "serve/request_scorer.h"
#include "serve/score_request.h"
#include "serve/served_model.h"
#include "train/trainer.h"

namespace py = pybind11;

namespace heed::python {
namespace {

using Json = nlohmann::ordered_json;

py::array_t<float> to_numpy(const std::vector<float>& values) {
  py::array_t<float> out(static_cast<py::ssize_t>(values.size()));
  std::copy(values.begin(), values.end(), out.mutable_data());
  return out;
}

// Where a model's rows come from: a file (path) or a DataFrame's table.
using Rows = std::variant<std::filesystem::path, FrameTable*>;

Dataset load_rows(const Rows& rows, const Config& config, const Schema& schema, const LoadOptions& options) {
  if (const auto* path = std::get_if<std::filesystem::path>(&rows)) return load_dataset(*path, config, schema, options);
  return std::get<FrameTable*>(rows)->read(config, schema, options);
}

// A model loaded once, as `heed serve` holds it: the batch scorer of `heed predict` and `heed
// eval` reads its Model, /v1/score's request scorers come from its pool (one per thread at once).
class PyModel {
 public:
  explicit PyModel(const std::filesystem::path& path) : path_(path) {
    py::gil_scoped_release release;
    served_ = serve::ServedModel::load(path);
  }

  py::array_t<float> predict(const Rows& rows, int threads) const {
    std::vector<float> scores;
    {
      py::gil_scoped_release release;
      LoadOptions load;
      load.require_label = false;
      load.features_only = true;  // as heed predict: eval-only columns may be absent
      load.never_skip = true;     // one score per row, in order
      const Model& model = served_->model();
      const Dataset data = load_rows(rows, model.config(), model.schema(), load);
      scores = score_dataset(model, data, resolve_threads(threads));
    }
    return to_numpy(scores);
  }

  std::string evaluate(const Rows& rows, int threads) const {
    py::gil_scoped_release release;
    LoadOptions load;
    load.rejects_name = "rejected_eval.txt";  // as heed eval, under data.on_error = "skip"
    load.split_keys_read = false;              // no validation carve
    const Model& model = served_->model();
    const Dataset data = load_rows(rows, model.config(), model.schema(), load);
    const Evaluation e = evaluate_dataset(model, data, resolve_threads(threads));
    return evaluation_json(e, model.config().eval.slice).dump();
  }

  // A /v1/score body -> its scores, and with "explain": true the answer's "explain" object (JSON).
  std::pair<py::array_t<float>, std::optional<std::string>> score(const std::string& body, std::size_t max_candidates,
                                                                  std::size_t max_values,
                                                                  std::size_t max_string_bytes) const {
    std::vector<float> scores;
    std::optional<std::string> explained;
    {
      py::gil_scoped_release release;
      serve::Limits limits;
      limits.max_candidates = max_candidates;
      limits.max_values = max_values;
      limits.max_string_bytes = max_string_bytes;
      const serve::ScoreRequest request = serve::parse_score_request(body, *served_, limits);
      const serve::EncodedRequest encoded = serve::encode_request(request, *served_);
      serve::Explanation explanation;
      {
        serve::ServedModel::Lease scorer = served_->scorer();
        scores = scorer->score(encoded, request.explain ? &explanation : nullptr);
      }
      if (request.explain) explained = serve::explanation_json(*served_, explanation).dump();
    }
    return {to_numpy(scores), std::move(explained)};
  }

  // explain's JSON and page, from a file or a table (written beside nothing: the page is returned).
  std::pair<std::string, std::string> explain(const Rows& rows, std::size_t max_rows, std::size_t samples,
                                              std::size_t shuffles, std::uint64_t seed, int threads) const {
    py::gil_scoped_release release;
    Checkpoint cp = load_checkpoint(path_);
    explain::Options options;
    options.rows = max_rows;
    options.samples = samples;
    options.shuffles = shuffles;
    options.seed = seed;
    options.threads = resolve_threads(threads);
    const explain::Explanation e =
        std::holds_alternative<std::filesystem::path>(rows)
            ? explain::explain(*cp.model, cp.meta, path_.string(), std::get<std::filesystem::path>(rows), options)
            : explain::explain(*cp.model, cp.meta, path_.string(), std::get<FrameTable*>(rows)->table(), options);
    return {explain::to_json(e).dump(), explain::render_html(e)};
  }

  std::string config_toml() const { return to_toml(served_->model().config()); }
  const Config& config() const { return served_->model().config(); }
  std::vector<std::string> fields() const {
    std::vector<std::string> names;
    for (const auto& f : served_->fields()) names.push_back(f.name);
    return names;
  }
  std::string meta() const { return served_->meta().dump(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const serve::ServedModel> served_;
};

// A config value given from Python, as --set writes it: strings bare, lists as TOML arrays.
std::string override_text(const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::int_>(value)) return py::str(value).cast<std::string>();
  if (py::isinstance<py::float_>(value)) return python_float_text(value.cast<double>());
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    std::string text = "[";
    bool first = true;
    for (const py::handle item : value) {
      if (!first) text += ", ";
      first = false;
      text += py::isinstance<py::str>(item) ? Json(item.cast<std::string>()).dump() : override_text(item);
    }
    return text + "]";
  }
  throw Error(fmt::format("a config value must be a string, number, boolean or list, not {}",
                          py::str(py::type::of(value).attr("__name__")).cast<std::string>()));
}

// Runs training with the Python side's news: Ctrl-C (a pending signal) is looked for after every
// batch, and `callback` (may be None) is called at most every `interval` seconds and at every
// epoch's end; either stops training at that batch, after a resumable checkpoint.
std::string train(const Config& config, const std::filesystem::path& run_dir, bool resume,
                  const std::map<std::string, FrameTable*>& tables, const py::object& callback, double interval) {
  TrainOptions options;
  options.run_dir = run_dir;
  options.resume = resume;
  if (!tables.empty())
    options.rows = [&tables](const std::string& split, const Config& c, const Schema& schema,
                             const LoadOptions& load) -> Dataset {
      const auto it = tables.find(split);
      if (it == tables.end()) throw Error(fmt::format("no {} DataFrame was given", split));
      return it->second->read(c, schema, load);
    };
  std::optional<py::error_already_set> python_error;
  bool callback_stopped = false;
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
  options.on_update = [&](const TrainingUpdate& u) {
    py::gil_scoped_acquire gil;  // uncontended, a fraction of a microsecond against a batch's milliseconds
    if (PyErr_CheckSignals() != 0) {
      python_error.emplace();
      return false;
    }
    if (callback.is_none()) return true;
    const auto now = Clock::now();
    if (!u.epoch_end && std::chrono::duration<double>(now - last).count() < interval) return true;
    last = now;
    try {
      py::dict news;
      news["epoch"] = u.epoch;
      news["epochs"] = u.epochs;
      news["step"] = u.step;
      news["rows"] = u.rows_done;
      news["rows_per_epoch"] = u.rows_per_epoch;
      news["train_logloss"] = u.train_logloss;
      news["epoch_end"] = u.epoch_end ? py::module_::import("json").attr("loads")(u.epoch_end->dump())
                                      : py::object(py::none());
      const py::object answer = callback(news);
      if (answer.is(py::bool_(false))) {
        callback_stopped = true;
        return false;
      }
    } catch (py::error_already_set& e) {
      python_error.emplace(std::move(e));
      return false;
    }
    return true;
  };
  try {
    py::gil_scoped_release release;
    return train(config, options).dump();
  } catch (const TrainingStopped& stopped) {
    if (python_error) {
      if (python_error->matches(PyExc_KeyboardInterrupt)) {
        // The interrupt, with where the run can be resumed from.
        PyErr_SetString(PyExc_KeyboardInterrupt, stopped.what());
        throw py::error_already_set();
      }
      throw std::move(*python_error);
    }
    (void)callback_stopped;
    throw;
  }
}

py::dict prepare_summary(const recipes::PrepareSummary& s) {
  py::dict out;
  out["train_rows"] = s.train_rows;
  out["valid_rows"] = s.valid_rows;
  out["test_rows"] = s.test_rows;
  out["files"] = s.files;
  out["notes"] = s.notes;
  return out;
}

py::dict prepare(const std::string& recipe, const std::filesystem::path& source, const std::filesystem::path& out,
                 const py::dict& given) {
  std::map<std::string, py::object> options;
  for (const auto& [k, v] : given) options[k.cast<std::string>()] = py::reinterpret_borrow<py::object>(v);
  auto take = [&](const std::string& key, auto& field) {
    if (auto it = options.find(key); it != options.end()) {
      field = it->second.cast<std::remove_reference_t<decltype(field)>>();
      options.erase(it);
    }
  };
  // Every recipe's malformed-line policy, as `heed prepare --on-error`.
  auto finish = [&](auto run, auto& o) {
    if (auto it = options.find("on_error"); it != options.end()) {
      const std::string name = it->second.cast<std::string>();
      const std::optional<OnError> policy = choice_named<OnError>(name);
      if (!policy) throw Error(fmt::format("on_error must be \"fail\" or \"skip\", got \"{}\"", name));
      o.errors.on_error = *policy;
      options.erase(it);
    }
    take("max_skip_fraction", o.errors.max_skip_fraction);
    if (!options.empty())
      throw Error(fmt::format("prepare {}: no option '{}'", recipe, options.begin()->first));
    recipes::PrepareSummary s;
    {
      py::gil_scoped_release release;
      s = run(o);
    }
    return prepare_summary(s);
  };
  if (recipe == "ml-100k" || recipe == "ml-1m") {
    recipes::MovieLensOptions o;
    o.source = source, o.out = out;
    if (recipe == "ml-1m") o.split = "time";
    take("split", o.split);
    take("max_history", o.max_history);
    take("test_fraction", o.time_test_fraction);
    take("task", o.task);
    take("seed", o.seed);
    return finish(recipe == "ml-100k" ? recipes::prepare_movielens_100k : recipes::prepare_movielens_1m, o);
  }
  if (recipe == "frappe") {
    recipes::FrappeOptions o;
    o.source = source, o.out = out;
    return finish(recipes::prepare_frappe, o);
  }
  if (recipe == "criteo" || recipe == "avazu") {
    auto run_split = [&](auto o, auto run) {
      o.source = source, o.out = out;
      take("valid_fraction", o.split.valid_fraction);
      take("test_fraction", o.split.test_fraction);
      return finish(run, o);
    };
    return recipe == "criteo" ? run_split(recipes::CriteoOptions{}, recipes::prepare_criteo)
                              : run_split(recipes::AvazuOptions{}, recipes::prepare_avazu);
  }
  if (recipe == "taobao") {
    recipes::TaobaoOptions o;
    o.source = source, o.out = out;
    take("max_history", o.max_history);
    take("label_window", o.label_window);
    take("test_days", o.test_days);
    take("valid_days", o.valid_days);
    take("user_fraction", o.user_fraction);
    take("task", o.task);
    take("seed", o.seed);
    return finish(recipes::prepare_taobao, o);
  }
  throw Error(fmt::format("no recipe '{}' (ml-100k, ml-1m, frappe, criteo, avazu, taobao)", recipe));
}

}  // namespace
}  // namespace heed::python

PYBIND11_MODULE(_heed, m) {
  using namespace heed;
  using namespace heed::python;
  m.doc() = "heed's engine; use the `heed` package, which documents every function.";

  static py::exception<Error> heed_error(m, "HeedError", PyExc_Exception);
  static py::exception<ParseError> parse_error(m, "ParseError", heed_error.ptr());
  static py::exception<serve::RequestError> request_error(m, "RequestError", heed_error.ptr());
  static py::exception<TrainingStopped> training_stopped(m, "TrainingStopped", heed_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ParseError& e) {
      parse_error(e.what());
    } catch (const serve::RequestError& e) {
      request_error(e.what());
    } catch (const TrainingStopped& e) {
      training_stopped(e.what());
    } catch (const Error& e) {
      heed_error(e.what());
    }
  });

  py::class_<Config>(m, "Config")
      .def_static("load", [](const std::filesystem::path& path, const std::vector<std::string>& overrides) {
        return load_config(path, overrides);
      }, py::arg("path"), py::arg("overrides") = std::vector<std::string>{})
      .def_static("parse", [](const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
        return parse_config(text, name, overrides);
      }, py::arg("text"), py::arg("name"), py::arg("overrides") = std::vector<std::string>{})
      .def("set", [](Config& c, const std::string& key, const py::handle& value) {
        c = parse_config(to_toml(c), "config", {key + "=" + override_text(value)});
      })
      .def("toml", [](const Config& c) { return to_toml(c); })
      .def("__copy__", [](const Config& c) { return Config(c); });

  m.def("config_keys", [] {
    py::list out;
    auto add = [&](const std::string& key, const auto& o) {
      py::dict d;
      d["key"] = key, d["type"] = o.type, d["default"] = o.default_text, d["help"] = o.help;
      out.append(d);
    };
    for (const auto& o : run_options()) add(o.key, o);
    for (const auto& o : feature_options()) add("features.NAME." + o.key, o);
    return out;
  });

  py::class_<FrameTable>(m, "FrameTable")
      .def(py::init<const Config&, std::string, std::vector<std::string>, const py::list&, bool, bool>(),
           py::arg("config"), py::arg("name"), py::arg("columns"), py::arg("arrays"), py::arg("hash_lists") = true,
           py::arg("split_keys_read") = true)
      .def_property_readonly("rows", [](const FrameTable& t) { return t.table().rows; })
      .def("cell", [](const FrameTable& t, std::size_t column, std::size_t row) {
        return std::string(t.table().cells.at(column).at(row));
      });

  m.def("train", &heed::python::train, py::arg("config"), py::arg("run_dir"), py::arg("resume"), py::arg("tables"),
        py::arg("callback"), py::arg("interval"));

  py::class_<PyModel>(m, "Model")
      .def(py::init<const std::filesystem::path&>())
      .def("predict_file", [](const PyModel& model, const std::filesystem::path& p, int threads) {
        return model.predict(Rows(p), threads);
      })
      .def("predict_table", [](const PyModel& model, FrameTable& t, int threads) {
        return model.predict(Rows(&t), threads);
      })
      .def("evaluate_file", [](const PyModel& model, const std::filesystem::path& p, int threads) {
        return model.evaluate(Rows(p), threads);
      })
      .def("evaluate_table", [](const PyModel& model, FrameTable& t, int threads) {
        return model.evaluate(Rows(&t), threads);
      })
      .def("explain_file", [](const PyModel& model, const std::filesystem::path& p, std::size_t rows, std::size_t samples,
                              std::size_t shuffles, std::uint64_t seed, int threads) {
        return model.explain(Rows(p), rows, samples, shuffles, seed, threads);
      })
      .def("explain_table", [](const PyModel& model, FrameTable& t, std::size_t rows, std::size_t samples,
                               std::size_t shuffles, std::uint64_t seed, int threads) {
        return model.explain(Rows(&t), rows, samples, shuffles, seed, threads);
      })
      .def("score", &PyModel::score)
      .def_property_readonly("config", [](const PyModel& m) { return m.config(); })
      .def_property_readonly("fields", &PyModel::fields)
      .def_property_readonly("meta", &PyModel::meta)
      .def_property_readonly("path", &PyModel::path);

  m.def("ablate", [](const Config& config, const std::filesystem::path& out, const std::vector<std::uint64_t>& seeds,
                     const std::vector<std::string>& variants, const std::string& reference, const std::string& slice,
                     std::optional<std::int64_t> threads, bool log) {
    ablate::AblationOptions options;
    options.out = out;
    options.seeds = seeds;
    options.variants = variants;
    options.reference = reference;
    options.slice = slice;
    options.threads = threads;
    if (log)
      options.log = [](const std::string& line) {
        std::fprintf(stderr, "ablate: %s\n", line.c_str());
        std::fflush(stderr);
      };
    py::gil_scoped_release release;
    const ablate::AblationResult result = ablate::run_ablation(config, options);
    const ablate::AblationSummary summary = ablate::summarize(result);
    ablate::write_ablation_reports(options.out, result, summary);
    return ablate::ablation_json(result, summary).dump();
  });

  m.def("synth", [](const std::filesystem::path& out, std::optional<std::size_t> rows, std::uint64_t seed,
                    const std::string& world, std::size_t max_history, const std::string& format) {
    py::dict d;
    if (format == "userbehavior") {
      if (world != "shop") throw Error("synth: format 'userbehavior' is the shop world's log (world='shop')");
      synth::BehaviorLogSummary s;
      {
        py::gil_scoped_release release;
        s = synth::write_behavior_log(out, seed, rows.value_or(synth::ShopOptions{}.events));
      }
      d["views"] = s.views, d["engagements"] = s.engagements;
      return d;
    }
    if (format != "next-item") throw Error(fmt::format("synth: no format '{}' (next-item, userbehavior)", format));
    if (world == "shop") {
      synth::ShopOptions shop;
      shop.out = out, shop.seed = seed, shop.max_history = max_history;
      if (rows) shop.events = *rows;
      synth::ShopSummary s;
      {
        py::gil_scoped_release release;
        s = synth::generate_shop(shop);
      }
      d["train_rows"] = s.train_rows, d["valid_rows"] = s.valid_rows, d["test_rows"] = s.test_rows;
      d["users"] = s.users, d["events"] = s.events, d["test_planted_auc"] = s.test_planted_auc;
      d["valid_planted_auc"] = s.valid_planted_auc;
      return d;
    }
    if (world != "demo") throw Error(fmt::format("synth: no world '{}' (demo, shop)", world));
    synth::Options options;
    options.out = out, options.seed = seed, options.max_history = max_history;
    if (rows) options.rows = *rows;
    synth::Summary s;
    {
      py::gil_scoped_release release;
      s = synth::generate(options);
    }
    d["train_rows"] = s.train_rows, d["valid_rows"] = s.valid_rows, d["test_rows"] = s.test_rows;
    d["click_rate"] = s.click_rate;
    d["test_planted_auc"] = s.test_planted_auc.all;
    return d;
  });

  // Rows -> the in-memory Dataset training and prediction read (no scoring): what
  // bench/python_frames.py times for a TSV file against a DataFrame's table.
  // `scoring`: as predict reads them (no label needed, no validation carve).
  auto read_options = [](bool scoring) {
    LoadOptions load;
    load.require_label = !scoring;
    load.features_only = scoring;
    return load;
  };
  m.def("read_rows", [read_options](const Config& config, const std::filesystem::path& path, bool scoring) {
    py::gil_scoped_release release;
    const Schema schema = Schema::from_config(config);
    return load_dataset(path, config, schema, read_options(scoring)).rows;
  });
  m.def("read_table", [read_options](const Config& config, FrameTable& table, bool scoring) {
    py::gil_scoped_release release;
    const Schema schema = Schema::from_config(config);
    return table.read(config, schema, read_options(scoring)).rows;
  });

  m.def("prepare", &heed::python::prepare);
  m.def("version", [] { return std::string(HEED_VERSION); });
}
