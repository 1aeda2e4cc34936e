#include "serve/http_server.h"

#include <toml++/toml.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "config/config_loader.h"
#include "core/error.h"
#include "serve/admission_queue.h"
#include "serve/httplib.h"
#include "serve/request_error.h"
#include "serve/request_scorer.h"

namespace heed::serve {
namespace {

using Json = nlohmann::ordered_json;

// Equal strings, in a time that depends on the expected token's length only.
bool same_token(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  return diff == 0;
}

Json identity(const ServedModel& m) {
  return {{"version", m.version()}, {"trained_at", m.trained_at()}};
}

Json describe_model(const ServedModel& m, const ServerOptions& options) {
  const Model& model = m.model();
  const Schema& schema = model.schema();
  Json fields = Json::array();
  for (const RequestField& field : m.fields()) {
    Json features = Json::array();
    for (std::size_t fi : field.features) {
      const FeatureInfo& f = schema.features[fi];
      Json e{{"name", f.name}, {"kind", to_string(f.kind)}};
      if (f.field >= 0) e["field"] = f.field;
      if (f.table >= 0) e["table"] = schema.tables[static_cast<std::size_t>(f.table)].name;
      if (f.has_values()) {
        e["separator"] = std::string(1, f.separator);
        e["max_len"] = f.max_len;
        e["pooling"] = to_string(f.pooling);
      }
      if (f.is_dense()) e["dense"] = true;
      features.push_back(std::move(e));
    }
    fields.push_back({{"name", field.name}, {"features", std::move(features)}});
  }
  // The schema the model was built from: the field axis of [B, F, E], the dense inputs, the
  // DIN attentions, SENet's and POSO's inputs.
  auto names = [&](const auto& indices) {
    Json list = Json::array();
    for (auto i : indices) list.push_back(schema.features[static_cast<std::size_t>(i)].name);
    return list;
  };
  Json described_schema{{"fields", static_cast<std::uint64_t>(schema.num_fields)},
                        {"dense_inputs", static_cast<std::uint64_t>(schema.num_dense)},
                        {"embedding_dim", static_cast<std::int64_t>(model.dim())},
                        {"din", Json::array()}};
  for (const DinGroup& g : schema.din_groups)
    described_schema["din"].push_back({{"keys", names(g.keys)}, {"queries", names(g.queries)}});
  Json gated = Json::array();
  for (int field : schema.senet_fields)
    for (const FeatureInfo& f : schema.features)
      if (f.field == field) gated.push_back(f.name);
  described_schema["senet_fields"] = std::move(gated);
  described_schema["poso_features"] = names(schema.poso_features);
  // The resolved config, as JSON (the TOML a checkpoint stores, converted by toml++).
  std::ostringstream config;
  config << toml::json_formatter{toml::parse(to_toml(model.config()))};
  Json out;
  out["model"] = identity(m);
  out["model"]["path"] = m.path().string();
  out["model"]["meta"] = Json::parse(m.meta().dump());
  out["fields"] = std::move(fields);
  out["schema"] = std::move(described_schema);
  out["config"] = Json::parse(config.str());
  out["metrics"] = Json::parse(m.metrics().dump());
  out["limits"] = {{"max_candidates", options.limits.max_candidates},
                   {"max_values", options.limits.max_values},
                   {"max_rows", options.limits.max_rows},
                   {"max_body_bytes", options.max_body_bytes}};
  return out;
}

Json explanation_json(const ServedModel& m, const Explanation& e) {
  const Model& model = m.model();
  const Schema& schema = model.schema();
  Json out = Json::object();
  for (std::size_t g = 0; g < e.din.size(); ++g) {
    const FeatureInfo& lead =
        schema.features[static_cast<std::size_t>(schema.din_groups[g].keys[0])];
    out["din"][lead.name] = e.din[g];
  }
  if (const Senet* senet = model.senet()) {
    Json names = Json::array();
    for (Index field : senet->gated_fields())
      for (const FeatureInfo& f : schema.features)
        if (f.field == field) names.push_back(f.name);
    const char* axis = senet->options().axis == SenetAxis::kField ? "field"
                       : senet->options().axis == SenetAxis::kDim ? "dim"
                                                                  : "element";
    Json weights = Json::array();
    for (Index r = 0; r < e.senet.rows(); ++r)
      weights.push_back(
          std::vector<float>(e.senet.row(r).data(), e.senet.row(r).data() + e.senet.cols()));
    out["senet"] = {{"axis", axis}, {"fields", std::move(names)}, {"weights", std::move(weights)}};
  }
  return out;
}

void set_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  // Replace, not throw: an error message may quote the invalid UTF-8 bytes a request sent.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  httplib::Server http;
  ServerMetrics metrics;

  mutable std::mutex model_mutex;
  std::shared_ptr<const ServedModel> model;

  std::mutex reload_mutex;
  FileStamp last_seen;  // of the last load tried (guarded by reload_mutex)

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by stop_mutex
  bool bound = false;

  std::shared_ptr<const ServedModel> current() const {
    std::lock_guard<std::mutex> lock(model_mutex);
    return model;
  }
  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::fprintf(stderr, "heed serve: %s\n", line.c_str());
      std::fflush(stderr);
    }
  }
  void refuse(httplib::Response& res, int status, const std::string& kind,
              const std::string& message) {
    metrics.count_error(kind);
    set_json(res, status, Json{{"error", kind}, {"message", message}});
  }
  // Runs a route's work: timed, counted in flight, every error answered as JSON.
  template <class Work>
  void instrument(const httplib::Request& req, httplib::Response& res, Work&& work) {
    const auto started = std::chrono::steady_clock::now();
    ++metrics.in_flight();
    try {
      work();
    } catch (const RequestError& e) {
      refuse(res, e.status(), e.kind(), e.what());
    } catch (const std::exception& e) {
      log(fmt::format("internal error on {} {}: {}", req.method, req.path, e.what()));
      refuse(res, 500, "internal", e.what());
    }
    --metrics.in_flight();
    metrics.observe(
        req.path,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  s.model = ServedModel::load(s.options.model);
  s.last_seen = s.model->stamp();
  if (s.options.threads <= 0)
    s.options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  httplib::Server& http = s.http;
  const auto seconds = [](double t) { return static_cast<time_t>(std::floor(t)); };
  const auto micros = [](double t) {
    return static_cast<time_t>(std::llround((t - std::floor(t)) * 1e6));
  };
  http.set_read_timeout(seconds(s.options.read_timeout_s), micros(s.options.read_timeout_s));
  http.set_write_timeout(seconds(s.options.write_timeout_s), micros(s.options.write_timeout_s));
  http.set_keep_alive_timeout(
      std::max<time_t>(1, static_cast<time_t>(std::ceil(s.options.read_timeout_s))));
  http.set_keep_alive_max_count(1000);
  http.set_payload_max_length(s.options.max_body_bytes);
  http.set_tcp_nodelay(true);
  http.new_task_queue = [this] {
    return new AdmissionQueue(static_cast<std::size_t>(impl_->options.threads),
                              impl_->options.max_queue, impl_->metrics.queued());
  };

  // Every answer is counted once it is written (status codes the library sets included).
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    impl_->metrics.count_request(req.path, res.status);
  });
  // Over capacity: answered by a shedding thread without reading the body.
  http.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!AdmissionQueue::shedding()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Retry-After", "1");
    res.set_header("Connection", "close");
    impl_->refuse(res, 503, "overloaded", "the server is at capacity; retry later");
    return httplib::Server::HandlerResponse::Handled;
  });
  // A keep-alive connection holds its worker between requests: while other connections wait
  // for a worker, each answer closes its connection, so the client reconnects at the back of
  // the queue and no connection starves behind a busy one (with fewer workers than clients).
  http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (impl_->metrics.queued_now() > 0) res.set_header("Connection", "close");
  });
  // Errors the library answers on its own (no route, a wrong method, a request head that is
  // malformed or not finished within the read timeout) get a JSON body and a count like ours.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;  // ours, already counted
        Impl& s = *impl_;
        if (res.status == 404 && ServerMetrics::endpoint_of(req.path) != "other") {
          const bool post =
              req.path == "/v1/score" || req.path == "/v1/score_rows" || req.path == "/v1/reload";
          res.set_header("Allow", post ? "POST" : "GET");
          s.refuse(res, 405, "method_not_allowed",
                   fmt::format("{} takes {}, not {}", req.path, post ? "POST" : "GET", req.method));
        } else if (res.status == 404) {
          s.refuse(res, 404, "not_found",
                   fmt::format("no endpoint {} (POST /v1/score, /v1/score_rows, /v1/reload; GET "
                               "/healthz, /v1/model, /metrics)",
                               req.path));
        } else if (res.status == 413) {
          s.refuse(res, 413, "body_too_large",
                   fmt::format("the body is larger than the limit of {} bytes (--max-body-bytes)",
                               s.options.max_body_bytes));
        } else if (res.status == 400) {
          s.refuse(res, 400, "bad_http", "malformed or incomplete HTTP request");
        } else {
          s.refuse(res, res.status, fmt::format("http_{}", res.status),
                   fmt::format("HTTP status {}", res.status));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  // Every route runs through this: timing, in-flight count, errors as JSON.
  auto route = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      impl_->instrument(req, res, [&] { handler(req, res); });
    };
  };
  // POST routes read their body themselves: within --max-body-bytes whatever the transfer
  // encoding, and whatever the Content-Type (the library caps form-encoded bodies at 8 KiB).
  auto post_route = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& reader) {
      impl_->instrument(req, res, [&] {
        const std::size_t limit = impl_->options.max_body_bytes;
        std::string body;
        bool too_large = false;
        // A POST with neither Content-Length nor Transfer-Encoding has no body (curl -X POST).
        const bool has_body =
            req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
        const bool complete = !has_body || reader([&](const char* data, std::size_t n) {
          too_large = body.size() + n > limit;
          if (!too_large) body.append(data, n);
          return !too_large;
        });
        if (too_large || (!complete && res.status == 413))
          throw RequestError(
              413, "body_too_large",
              fmt::format("the body is larger than the limit of {} bytes (--max-body-bytes)",
                          limit));
        if (!complete) {
          const std::string announced = req.get_header_value("Content-Length");
          throw RequestError(
              400, "incomplete_body",
              fmt::format("the body ended or stalled after {} of {} bytes (read timeout {} s)",
                          body.size(), announced.empty() ? "the announced" : announced,
                          impl_->options.read_timeout_s));
        }
        handler(req, body, res);
      });
    };
  };

  http.Get("/healthz", route([this](const httplib::Request&, httplib::Response& res) {
             set_json(res, 200, Json{{"status", "ok"}, {"model", identity(*impl_->current())}});
           }));
  http.Get("/v1/model", route([this](const httplib::Request&, httplib::Response& res) {
             set_json(res, 200, describe_model(*impl_->current(), impl_->options));
           }));
  http.Get("/metrics", route([this](const httplib::Request&, httplib::Response& res) {
             const auto m = impl_->current();
             res.set_content(impl_->metrics.render(m->version(), m->trained_at()),
                             "text/plain; version=0.0.4");
           }));
  http.Post("/v1/score", post_route([this](const httplib::Request&, const std::string& body,
                                           httplib::Response& res) {
              const std::shared_ptr<const ServedModel> m =
                  impl_->current();  // kept to the end, whatever reloads
              const ScoreRequest request = parse_score_request(body, *m, impl_->options.limits);
              const EncodedRequest encoded = encode_request(request, *m);
              Explanation explanation;
              std::vector<float> scores;
              {
                ServedModel::Lease scorer = m->scorer();
                scores = scorer->score(encoded, request.explain ? &explanation : nullptr);
              }
              impl_->metrics.add_candidates(scores.size());
              Json out{{"scores", scores}, {"model", identity(*m)}};
              if (request.explain) out["explain"] = explanation_json(*m, explanation);
              set_json(res, 200, out);
            }));
  http.Post("/v1/score_rows", post_route([this](const httplib::Request&, const std::string& body,
                                                httplib::Response& res) {
              const std::shared_ptr<const ServedModel> m = impl_->current();
              const EncodedRequest encoded = parse_rows(body, *m, impl_->options.limits);
              std::vector<float> scores;
              {
                ServedModel::Lease scorer = m->scorer();
                scores = scorer->score(encoded);
              }
              impl_->metrics.add_candidates(scores.size());
              set_json(res, 200, Json{{"scores", scores}, {"model", identity(*m)}});
            }));
  http.Post("/v1/reload", post_route([this](const httplib::Request& req, const std::string&,
                                            httplib::Response& res) {
              Impl& s = *impl_;
              if (s.options.admin_token.empty())
                throw RequestError(403, "forbidden",
                                   "reloading over HTTP is off: start the server with "
                                   "--admin-token or HEED_ADMIN_TOKEN");
              std::string token = req.get_header_value("X-Admin-Token");
              const std::string authorization = req.get_header_value("Authorization");
              if (token.empty() && authorization.rfind("Bearer ", 0) == 0)
                token = authorization.substr(7);
              if (!same_token(token, s.options.admin_token))
                throw RequestError(403, "forbidden",
                                   "a wrong or missing admin token (Authorization: Bearer TOKEN)");
              const Reload r = reload("http");
              if (!r.kind.empty()) throw RequestError(r.status, r.kind, r.message);
              set_json(res, 200,
                       Json{{"reloaded", r.changed},
                            {"message", r.message},
                            {"model", identity(*s.current())}});
            }));
}

Server::~Server() {
  stop();
}

std::shared_ptr<const ServedModel> Server::model() const {
  return impl_->current();
}
const ServerMetrics& Server::metrics() const {
  return impl_->metrics;
}

int Server::bind() {
  Impl& s = *impl_;
  int port = s.options.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.options.host);
  } else if (!s.http.bind_to_port(s.options.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw Error(fmt::format(
        "cannot listen on {}:{} (is the port taken, or the address not this machine's?)",
        s.options.host, s.options.port));
  s.bound = true;
  return port;
}

void Server::run() {
  Impl& s = *impl_;
  if (!s.bound) bind();
  std::atomic<bool> listening_done{false};
  // The control thread: polls the model file while serving, then turns stop() into the
  // library's stop (which only works once the listen loop runs, so it waits for that).
  std::thread control([this, &listening_done] {
    Impl& s = *impl_;
    const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s.options.watch_interval_s));
    std::unique_lock<std::mutex> lock(s.stop_mutex);
    while (!s.stop_cv.wait_for(lock, interval, [&] { return s.stopping; })) {
      if (!s.options.watch) continue;
      lock.unlock();
      FileStamp now;
      bool changed = false;
      if (stamp_file(s.options.model, now)) {
        std::lock_guard<std::mutex> reload_lock(s.reload_mutex);
        changed = !(now == s.last_seen);
      }
      if (changed) reload("watch");
      lock.lock();
    }
    lock.unlock();
    while (!listening_done) {
      if (s.http.is_running()) {
        s.http.stop();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  s.http.listen_after_bind();  // returns once stopped, after the workers finished what they had
  listening_done = true;
  {
    std::lock_guard<std::mutex> lock(s.stop_mutex);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
  control.join();
}

void Server::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.stop_mutex);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
}

Server::Reload Server::reload(const std::string& trigger) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.reload_mutex);
  FileStamp before;
  stamp_file(s.options.model, before);
  Reload r;
  std::shared_ptr<const ServedModel> next;
  try {
    next = ServedModel::load(s.options.model);
  } catch (const std::exception& e) {
    s.last_seen = before;
    s.metrics.count_reload(trigger, "failed");
    s.log(fmt::format("reload ({}) refused, still serving {}: {}", trigger, s.current()->version(),
                      e.what()));
    return {422, "reload_failed", fmt::format("the model file cannot be loaded: {}", e.what()),
            false};
  }
  s.last_seen = next->stamp();
  const std::shared_ptr<const ServedModel> now = s.current();
  if (next->version() == now->version()) {
    s.metrics.count_reload(trigger, "unchanged");
    return {200, "", fmt::format("the file holds the model already served ({})", now->version()),
            false};
  }
  const std::string why = now->incompatibility(*next);
  if (!why.empty()) {
    s.metrics.count_reload(trigger, "failed");
    s.log(fmt::format("reload ({}) refused, still serving {}: {}", trigger, now->version(), why));
    return {409, "incompatible_model",
            fmt::format("the new model does not take the same requests: {}", why), false};
  }
  {
    std::lock_guard<std::mutex> model_lock(s.model_mutex);
    s.model = next;
  }
  s.metrics.count_reload(trigger, "ok");
  s.log(fmt::format("reloaded ({}): now serving {} (trained {}), was {}", trigger, next->version(),
                    next->trained_at(), now->version()));
  r.changed = true;
  r.message = fmt::format("now serving {}", next->version());
  return r;
}

}  // namespace heed::serve
