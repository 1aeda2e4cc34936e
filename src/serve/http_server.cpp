#include "serve/http_server.h"

#include <toml++/toml.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "config/config_loader.h"
#include "core/error.h"
#include "serve/grpc_server.h"
#include "serve/inference_protocol.h"
#include "serve/request_error.h"
#include "serve/request_scorer.h"
#include "serve/scoring_pool.h"

namespace heed::serve {
namespace {

using Json = nlohmann::ordered_json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

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

// Every string that is an absolute path becomes its last component (the file's name).
void redact_paths(Json& j) {
  if (j.is_string()) {
    const std::string& text = j.get_ref<const std::string&>();
    if (!text.empty() && text[0] == '/') j = std::filesystem::path(text).filename().string();
  } else if (j.is_structured()) {
    for (Json& child : j) redact_paths(child);
  }
}

Json describe_model(const ServedModel& m, const ServerOptions& options, bool admin) {
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
        e["pooling"] = choice_name(f.pooling);
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
  // Absolute paths say where the server's files live: only an admin sees them.
  Json meta = Json::parse(m.meta().dump());
  if (admin) {
    out["model"]["path"] = m.path().string();
  } else {
    out["model"]["path"] = m.path().filename().string();
    redact_paths(meta);
  }
  out["model"]["meta"] = std::move(meta);
  out["fields"] = std::move(fields);
  out["schema"] = std::move(described_schema);
  out["config"] = Json::parse(config.str());
  out["metrics"] = Json::parse(m.metrics().dump());
  if (!admin) {
    redact_paths(out["config"]);
    redact_paths(out["metrics"]);
  }
  out["limits"] = {{"max_candidates", options.limits.max_candidates},
                   {"max_values", options.limits.max_values},
                   {"max_rows", options.limits.max_rows},
                   {"max_string_bytes", options.limits.max_string_bytes},
                   {"max_body_bytes", options.max_body_bytes},
                   {"max_head_bytes", options.max_head_bytes},
                   {"max_connections", options.max_connections},
                   {"max_queue", options.max_queue}};
  return out;
}

Response json_response(int status, const Json& body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  // Replace, not throw: an error message may quote the invalid UTF-8 bytes a request sent.
  res.body() = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return res;
}

std::string_view header(const Request& req, http::field name) {
  const auto it = req.find(name);
  return it == req.end() ? std::string_view() : std::string_view(it->value());
}

// The path of a request target, without its query.
std::string_view path_of(const Request& req) {
  const std::string_view target = req.target();
  return target.substr(0, target.find('?'));
}

// The route template a path matches ("/v2/models/{name}/infer" for "/v2/models/heed/infer"),
// with the model name it gives; the path itself when it names no model.
std::string route_of(std::string_view path, std::string& name) {
  constexpr std::string_view kModels = "/v2/models/";
  name.clear();
  if (path.substr(0, kModels.size()) != kModels) return std::string(path);
  std::string_view rest = path.substr(kModels.size());
  const std::size_t slash = rest.find('/');
  name = std::string(rest.substr(0, slash));
  if (slash == std::string_view::npos) return "/v2/models/{name}";
  const std::string_view tail = rest.substr(slash);
  if (tail == "/ready") return "/v2/models/{name}/ready";
  if (tail == "/infer") return "/v2/models/{name}/infer";
  return std::string(path);
}

auto to_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

}  // namespace

void validate(const ServerOptions& o) {
  auto positive = [](double seconds, const char* flag) {
    if (!(seconds > 0) || !std::isfinite(seconds) || seconds > 86400.0 * 365)
      throw Error(fmt::format("{} must be a number of seconds above 0, got {}", flag, seconds));
  };
  if (!o.precision.empty()) scoring_precision(Config{}, o.precision);  // throws naming the choices
  if (o.port < 0 || o.port > 65535)
    throw Error(fmt::format("--port must be 0 (any free port) to 65535, got {}", o.port));
  if (o.grpc_port < -1 || o.grpc_port > 65535)
    throw Error(fmt::format("--grpc-port must be 0 (any free port) to 65535, got {}",
                            o.grpc_port));
  if (o.grpc_port > 0 && o.grpc_port == o.port)
    throw Error(fmt::format("--grpc-port and --port are both {}: give gRPC a port of its own",
                            o.port));
  if (o.threads < 0 || o.threads > 4096)
    throw Error(fmt::format("--threads must be 0 (one per core) to 4096, got {}", o.threads));
  positive(o.head_timeout_s, "--head-timeout");
  positive(o.read_timeout_s, "--read-timeout");
  positive(o.write_timeout_s, "--write-timeout");
  positive(o.drain_timeout_s, "--drain-timeout");
  positive(o.watch_interval_s, "the watch interval");
  auto at_least_one = [](std::size_t n, const char* flag) {
    if (n == 0) throw Error(fmt::format("{} must be at least 1", flag));
  };
  at_least_one(o.max_connections, "--max-connections");
  at_least_one(o.max_body_bytes, "--max-body-bytes");
  at_least_one(o.limits.max_candidates, "--max-candidates");
  at_least_one(o.limits.max_values, "--max-values");
  at_least_one(o.limits.max_rows, "--max-rows");
  at_least_one(o.limits.max_string_bytes, "--max-string-bytes");
  if (o.max_head_bytes < 256)
    throw Error(fmt::format("--max-head-bytes must be at least 256, got {}", o.max_head_bytes));
}

class Session;

struct Server::Impl {
  ServerOptions options;
  ServerMetrics metrics;

  mutable std::mutex model_mutex;
  std::shared_ptr<const ServedModel> model;

  std::mutex reload_mutex;
  FileStamp last_seen;  // of the last load tried (guarded by reload_mutex)

  // The watcher thread waits on this; stop() wakes it.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by stop_mutex

  Server* server = nullptr;  // the owner (reload)

  // Everything below is touched by the I/O thread only (run()'s). The sessions outlive the
  // io_context: handlers it destroys may hold the last reference to a session.
  std::unordered_set<Session*> sessions;
  std::size_t over_capacity = 0;  // sessions accepted beyond max_connections, to get their 503
  bool draining = false;
  bool finished = false;  // run() has returned: the io_context is not to be stopped again
  bool bound = false;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer drain_timer{io};
  std::unique_ptr<ScoringPool> pool;  // made by bind()
  // The gRPC service (--grpc-port), made by bind(); declared after the pool it feeds, so it is
  // shut down and destroyed first.
  std::unique_ptr<GrpcServer> grpc;
  int grpc_port = -1;

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
  Response refuse(int status, const std::string& kind, const std::string& message) {
    metrics.count_error(kind);
    return json_response(status, Json{{"error", kind}, {"message", message}});
  }
  bool is_admin(const Request& req) const {
    if (options.admin_token.empty()) return false;
    std::string token;
    const auto x_admin = req.find("X-Admin-Token");
    if (x_admin != req.end()) token = std::string(x_admin->value());
    const std::string_view authorization = header(req, http::field::authorization);
    if (token.empty() && authorization.substr(0, 7) == "Bearer ")
      token = std::string(authorization.substr(7));
    return same_token(token, options.admin_token);
  }

  // Runs a route's work: timed, counted in flight, every error answered as JSON.
  template <class Work>
  Response instrument(std::string_view path, Work&& work) {
    const auto started = std::chrono::steady_clock::now();
    ++metrics.in_flight();
    Response res;
    try {
      res = work();
    } catch (const RequestError& e) {
      res = refuse(e.status(), e.kind(), e.what());
    } catch (const std::exception& e) {
      log(fmt::format("internal error on {}: {}", path, e.what()));
      res = refuse(500, "internal", e.what());
    }
    --metrics.in_flight();
    metrics.observe(
        path, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return res;
  }

  // A route: its path (a template for /v2/models/{name}/...), the method it takes, whether it
  // runs on a scoring thread (the cheap ones run on the I/O thread, so /healthz and /metrics
  // answer even when every worker is busy) and its handler.
  using Handler = Response (Impl::*)(const Request&);
  struct Route {
    std::string_view path;
    http::verb method;
    bool scoring;
    Handler handle;
  };
  static const std::vector<Route>& routes();
  // Runs a route's handler for `req` (`name`: the model a /v2/models/ path names).
  Response answer(const Request& req, const Route& route, const std::string& name);

  // The routes' handlers, in the order of routes().
  Response health(const Request& req);
  Response model_description(const Request& req);
  Response metrics_text(const Request& req);
  Response score(const Request& req);
  Response score_rows(const Request& req);
  Response reload_model(const Request& req);
  Response v2_server_metadata(const Request& req);
  Response v2_server_live(const Request& req);
  Response v2_server_ready(const Request& req);
  Response v2_model_metadata(const Request& req);
  Response v2_model_ready(const Request& req);
  Response v2_model_infer(const Request& req);

  void accept();
  void begin_drain();
  void session_closed(Session* session);
  void finish_drain_if_done();
};

const std::vector<Server::Impl::Route>& Server::Impl::routes() {
  static const std::vector<Route> kRoutes = {
      {"/healthz", http::verb::get, false, &Impl::health},
      {"/v1/model", http::verb::get, false, &Impl::model_description},
      {"/metrics", http::verb::get, false, &Impl::metrics_text},
      {"/v1/score", http::verb::post, true, &Impl::score},
      {"/v1/score_rows", http::verb::post, true, &Impl::score_rows},
      {"/v1/reload", http::verb::post, true, &Impl::reload_model},
      // The Open Inference Protocol (KServe v2); {name} is the served model's --model-name.
      {"/v2", http::verb::get, false, &Impl::v2_server_metadata},
      {"/v2/health/live", http::verb::get, false, &Impl::v2_server_live},
      {"/v2/health/ready", http::verb::get, false, &Impl::v2_server_ready},
      {"/v2/models/{name}", http::verb::get, false, &Impl::v2_model_metadata},
      {"/v2/models/{name}/ready", http::verb::get, false, &Impl::v2_model_ready},
      {"/v2/models/{name}/infer", http::verb::post, true, &Impl::v2_model_infer},
  };
  return kRoutes;
}

Response Server::Impl::answer(const Request& req, const Route& route, const std::string& name) {
  return instrument(route.path, [&]() -> Response {
    if (route.path.starts_with("/v2/models/") && name != options.model_name)
      throw RequestError(404, "model_not_found",
                         fmt::format("no model '{}' (this server serves '{}')", name,
                                     options.model_name));
    return (this->*route.handle)(req);
  });
}

Response Server::Impl::health(const Request&) {
  return json_response(200, Json{{"status", "ok"}, {"model", identity(*current())}});
}

Response Server::Impl::model_description(const Request& req) {
  return json_response(200, describe_model(*current(), options, is_admin(req)));
}

Response Server::Impl::metrics_text(const Request&) {
  const auto m = current();
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics.render(m->version(), m->trained_at());
  return res;
}

Response Server::Impl::score(const Request& req) {
  const std::shared_ptr<const ServedModel> m = current();  // kept to the end, whatever reloads
  const ScoreRequest request = parse_score_request(req.body(), *m, options.limits);
  const EncodedRequest encoded = encode_request(request, *m);
  Explanation explanation;
  std::vector<float> scores;
  {
    ServedModel::Lease scorer = m->scorer();
    scores = scorer->score(encoded, request.explain ? &explanation : nullptr);
  }
  metrics.add_candidates(scores.size());
  Json out{{"scores", scores}, {"model", identity(*m)}};
  if (request.explain) out["explain"] = explanation_json(*m, explanation);
  return json_response(200, out);
}

Response Server::Impl::score_rows(const Request& req) {
  const std::shared_ptr<const ServedModel> m = current();
  const EncodedRequest encoded = parse_rows(req.body(), *m, options.limits);
  std::vector<float> scores;
  {
    ServedModel::Lease scorer = m->scorer();
    scores = scorer->score(encoded);
  }
  metrics.add_candidates(scores.size());
  return json_response(200, Json{{"scores", scores}, {"model", identity(*m)}});
}

Response Server::Impl::reload_model(const Request& req) {
  if (options.admin_token.empty())
    throw RequestError(403, "forbidden",
                       "reloading over HTTP is off: start the server with "
                       "--admin-token or HEED_ADMIN_TOKEN");
  if (!is_admin(req))
    throw RequestError(403, "forbidden",
                       "a wrong or missing admin token (Authorization: Bearer TOKEN)");
  const Reload r = server->reload("http");
  if (!r.kind.empty()) throw RequestError(r.status, r.kind, r.message);
  return json_response(
      200, Json{{"reloaded", r.changed}, {"message", r.message}, {"model", identity(*current())}});
}

Response Server::Impl::v2_server_metadata(const Request&) {
  return json_response(
      200, Json{{"name", "heed"}, {"version", HEED_VERSION}, {"extensions", Json::array()}});
}

Response Server::Impl::v2_server_live(const Request&) {
  return json_response(200, Json{{"live", true}});
}

Response Server::Impl::v2_server_ready(const Request&) {
  return json_response(200, Json{{"ready", true}});
}

Response Server::Impl::v2_model_metadata(const Request&) {
  const std::shared_ptr<const ServedModel> m = current();
  Json inputs = Json::array();
  for (const RequestField& field : m->fields())
    inputs.push_back(
        {{"name", field.name}, {"datatype", tensor_datatype(*m, field)}, {"shape", {-1}}});
  return json_response(
      200, Json{{"name", options.model_name},
                {"versions", {m->version()}},
                {"platform", "heed"},
                {"inputs", std::move(inputs)},
                {"outputs",
                 Json::array({{{"name", "score"}, {"datatype", "FP32"}, {"shape", {-1}}}})}});
}

Response Server::Impl::v2_model_ready(const Request&) {
  return json_response(200, Json{{"name", options.model_name}, {"ready", true}});
}

Response Server::Impl::v2_model_infer(const Request& req) {
  const std::shared_ptr<const ServedModel> m = current();
  const InferRequest infer = parse_infer_request(req.body(), *m, options.limits);
  const std::vector<float> scores = score_infer(infer, *m);
  metrics.add_candidates(scores.size());
  Json out{{"model_name", options.model_name}, {"model_version", m->version()}};
  if (!infer.id.empty()) out["id"] = infer.id;
  out["outputs"] = Json::array(
      {{{"name", "score"}, {"datatype", "FP32"}, {"shape", {scores.size()}}, {"data", scores}}});
  return json_response(200, out);
}

// One client connection, driven by the I/O thread: reads a request head within the head
// deadline, checks it, reads the body within the read deadline, hands the request to a scoring
// thread (or answers at once), writes the answer within the write deadline, and starts over.
// One request at a time per connection, so pipelined requests are answered in order; the bytes
// of the next ones wait in `buffer_`.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& s, tcp::socket socket, bool over_capacity)
      : s_(s), socket_(std::move(socket)), timer_(s.io),
        over_capacity_(over_capacity) {
    s_.sessions.insert(this);
    ++s_.metrics.open_connections();
    if (over_capacity_) ++s_.over_capacity;
  }
  ~Session() {
    if (over_capacity_) --s_.over_capacity;
    --s_.metrics.open_connections();
    s_.session_closed(this);
  }

  void start() {
    beast::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    read_head();
  }

  // Waiting for a request that has not begun: nothing accepted is lost by closing it.
  bool idle() const { return waiting_head_ && buffer_.size() == 0; }
  void close() {
    beast::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Arms the deadline of the operation about to start; when it passes, the socket's pending
  // operations are cancelled and their handler sees expired_ set.
  void arm(double seconds) {
    expired_ = false;
    const unsigned generation = ++generation_;
    timer_.expires_after(to_duration(seconds));
    timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->generation_) return;
      self->expired_ = true;
      beast::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }
  bool disarm() {
    ++generation_;
    timer_.cancel();
    return expired_;
  }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(s_.options.max_head_bytes));
    parser_->body_limit(s_.options.max_body_bytes);
    waiting_head_ = true;
    // A connection beyond the cap only gets its 503: its head has a short while to come.
    arm(over_capacity_ ? std::min(s_.options.head_timeout_s, 2.0) : s_.options.head_timeout_s);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_head(ec);
                            });
  }

  void on_head(beast::error_code ec) {
    const bool expired = disarm();
    waiting_head_ = false;
    path_ = "other";
    if (ec == http::error::header_limit)
      return fail(431, "head_too_large",
                  fmt::format("the request head is larger than the limit of {} bytes "
                              "(--max-head-bytes)",
                              s_.options.max_head_bytes));
    if (ec == http::error::body_limit) return body_too_large();
    if (ec) {
      // Nothing begun (a closed or idle keep-alive connection, or a drain): just close.
      if (buffer_.size() == 0 || ec == http::error::end_of_stream) return close();
      if (expired)
        return fail(408, "head_timeout",
                    fmt::format("the request head did not arrive within {} s (--head-timeout)",
                                s_.options.head_timeout_s));
      if (ec == asio::error::operation_aborted || ec == asio::error::eof ||
          ec == asio::error::connection_reset)
        return close();
      return fail(400, "bad_http", fmt::format("malformed HTTP request head: {}", ec.message()));
    }
    const Request& req = parser_->get();
    path_ = std::string(path_of(req));
    if (over_capacity_) {
      Response res = s_.refuse(503, "overloaded",
                               fmt::format("the server has {} connections open, its limit "
                                           "(--max-connections); retry later",
                                           s_.options.max_connections));
      res.set(http::field::retry_after, "1");
      return send(std::move(res), /*keep_alive=*/false);
    }
    if (const auto length = parser_->content_length();
        length && *length > s_.options.max_body_bytes)
      return body_too_large();
    // curl and others wait for this before sending a body of more than a few KB.
    if (beast::iequals(header(req, http::field::expect), "100-continue") &&
        !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(s_.options.write_timeout_s);
      return asio::async_write(socket_, asio::buffer(kContinue),
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (self->disarm() || ec) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return dispatch();
    arm(s_.options.read_timeout_s);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_body(ec);
                     });
  }

  void on_body(beast::error_code ec) {
    const bool expired = disarm();
    if (ec == http::error::body_limit) return body_too_large();
    if (ec) {
      const auto announced = parser_->content_length();
      s_.metrics.count_error("incomplete_body");
      const std::string message = fmt::format(
          "the body ended or stalled before its {} bytes arrived (read timeout {} s)",
          announced ? std::to_string(*announced) : std::string("announced"),
          s_.options.read_timeout_s);
      if (!expired && ec != http::error::partial_message && ec != http::error::end_of_stream &&
          ec != asio::error::eof)
        return close();  // reset or aborted: nobody to answer
      Response res = json_response(400, Json{{"error", "incomplete_body"}, {"message", message}});
      return send(std::move(res), false);
    }
    dispatch();
  }

  void dispatch() {
    Request req = parser_->release();
    const bool keep_alive = req.keep_alive();
    path_ = route_of(path_, name_);
    const Server::Impl::Route* route = nullptr;
    const Server::Impl::Route* known = nullptr;
    for (const Server::Impl::Route& r : Server::Impl::routes()) {
      if (r.path != path_) continue;
      known = &r;
      if (r.method == req.method()) route = &r;
    }
    if (!route) {
      Response res;
      if (known) {
        const bool post = known->method == http::verb::post;
        res = s_.refuse(405, "method_not_allowed",
                        fmt::format("{} takes {}, not {}", path_, post ? "POST" : "GET",
                                    std::string(req.method_string())));
        res.set(http::field::allow, post ? "POST" : "GET");
      } else {
        res = s_.refuse(404, "not_found",
                        fmt::format("no endpoint {} (POST /v1/score, /v1/score_rows, /v1/reload, "
                                    "/v2/models/NAME/infer; GET /healthz, /v1/model, /metrics, "
                                    "/v2/health/live, /v2/health/ready, /v2/models/NAME)",
                                    path_));
      }
      return send(std::move(res), keep_alive);
    }
    if (!route->scoring) return send(s_.answer(req, *route, name_), keep_alive);
    auto job = [self = shared_from_this(), req = std::move(req), route, keep_alive]() mutable {
      Response res = self->s_.answer(req, *route, self->name_);
      // The session goes back to the I/O thread with the answer (and is released there).
      Session* raw = self.get();
      asio::post(raw->s_.io, [self = std::move(self), res = std::move(res), keep_alive]() mutable {
        self->send(std::move(res), keep_alive);
      });
    };
    if (!s_.pool->try_submit(std::move(job))) {
      Response res = s_.refuse(
          503, "overloaded",
          fmt::format("every scoring thread is busy and {} requests wait (--max-queue); retry later",
                      s_.options.max_queue));
      res.set(http::field::retry_after, "1");
      send(std::move(res), keep_alive);
    }
  }

  void body_too_large() {
    fail(413, "body_too_large",
         fmt::format("the body is larger than the limit of {} bytes (--max-body-bytes)",
                     s_.options.max_body_bytes));
  }
  // Refuses the request and closes the connection (what follows cannot be read as a request).
  void fail(int status, const std::string& kind, const std::string& message) {
    send(s_.refuse(status, kind, message), false);
  }

  void send(Response res, bool keep_alive) {
    s_.metrics.count_request(path_, static_cast<int>(res.result_int()));
    // While draining, a connection is kept only for requests it has already sent.
    if (s_.draining && buffer_.size() == 0) keep_alive = false;
    res.set(http::field::server, "heed");
    res.keep_alive(keep_alive);
    res.prepare_payload();
    response_ = std::move(res);
    arm(s_.options.write_timeout_s);
    http::async_write(socket_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        const bool expired = self->disarm();
                        if (ec || expired) return self->close();
                        if (!keep_alive) return self->linger();
                        self->read_head();
                      });
  }

  // Closes after an answer, reading (and dropping) what the client still sends for a short
  // while: closing a socket with unread bytes resets it, which may destroy the answer before
  // the client reads it.
  void linger() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm(std::min(2.0, s_.options.read_timeout_s));
    drain_input();
  }
  void drain_input() {
    socket_.async_read_some(asio::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->expired_ || self->drained_ > (1u << 20))
                                return self->close();
                              self->drain_input();
                            });
  }

  Server::Impl& s_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::string path_ = "other";  // the route template, or the path when none matches
  std::string name_;            // the model a /v2/models/ path names
  std::array<char, 4096> scratch_{};
  std::size_t drained_ = 0;
  unsigned generation_ = 0;
  bool expired_ = false;
  bool waiting_head_ = false;
  bool over_capacity_;
};

void Server::Impl::session_closed(Session* session) {
  sessions.erase(session);
  finish_drain_if_done();
}

void Server::Impl::finish_drain_if_done() {
  if (draining && !finished && sessions.empty()) io.stop();
}

void Server::Impl::begin_drain() {
  if (draining) return;
  draining = true;
  beast::error_code ignored;
  acceptor.close(ignored);  // new connections are refused from now on
  // Idle connections hold no request: close them; the others finish what they began.
  std::vector<Session*> idle;
  for (Session* session : sessions)
    if (session->idle()) idle.push_back(session);
  for (Session* session : idle) session->close();
  drain_timer.expires_after(to_duration(options.drain_timeout_s));
  drain_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    log(fmt::format("drain timeout ({} s): closing {} connections still open",
                    options.drain_timeout_s, sessions.size()));
    io.stop();
  });
  finish_drain_if_done();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  s.server = this;
  validate(s.options);
  s.model = ServedModel::load(s.options.model, s.options.precision);
  s.last_seen = s.model->stamp();
  if (s.options.threads <= 0)
    s.options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.host, ec);
  if (ec)
    throw Error(fmt::format("cannot listen on {}: not an IP address of this machine ({})",
                            s.options.host, ec.message()));
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  s.acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR lets a restarted server bind while old connections linger in TIME_WAIT; on
  // Linux it never lets two servers listen on one port (SO_REUSEPORT would: not set).
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    throw Error(fmt::format("cannot listen on {}:{}: {}{}", s.options.host, s.options.port,
                            ec.message(),
                            ec == asio::error::address_in_use
                                ? " (another process listens on this port: stop it or pick "
                                  "another with --port)"
                                : ""));
  }
  // The scoring threads exist from here on: the gRPC service answers as soon as it is bound.
  s.pool = std::make_unique<ScoringPool>(static_cast<std::size_t>(s.options.threads),
                                         s.options.max_queue, s.metrics.queued());
  if (s.options.grpc_port >= 0) {
    s.grpc = std::make_unique<GrpcServer>(
        ServingState{s.options, s.metrics, [&s] { return s.current(); }, *s.pool});
    try {
      s.grpc_port = s.grpc->start(s.options.host, s.options.grpc_port);
    } catch (...) {
      s.grpc.reset();
      beast::error_code ignored;
      s.acceptor.close(ignored);
      throw;
    }
  }
  s.bound = true;
  return s.acceptor.local_endpoint().port();
}

int Server::grpc_port() const {
  return impl_->grpc_port;
}

void Server::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (draining || !acceptor.is_open()) return;
    if (!ec) {
      // Beyond the cap a connection still gets its 503 (up to a small number of them at once);
      // past that it is closed at once.
      const bool over = sessions.size() >= options.max_connections;
      if (over && over_capacity >= 64) {
        beast::error_code ignored;
        socket.close(ignored);
        metrics.count_error("overloaded");
      } else {
        std::make_shared<Session>(*this, std::move(socket), over)->start();
      }
    } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
      // Out of file descriptors: wait a moment rather than spin.
      log(fmt::format("accept: {}", ec.message()));
      auto pause = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
      pause->async_wait([this, pause](beast::error_code) { accept(); });
      return;
    }
    accept();
  });
}

void Server::run() {
  Impl& s = *impl_;
  if (!s.bound) bind();
  // The watcher thread polls the model file while serving; stop() wakes it.
  std::thread watcher([this] {
    Impl& s = *impl_;
    std::unique_lock<std::mutex> lock(s.stop_mutex);
    while (!s.stop_cv.wait_for(lock, to_duration(s.options.watch_interval_s),
                               [&] { return s.stopping; })) {
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
    // Then the I/O thread drains HTTP, and this one gRPC (its calls in flight finish on the
    // scoring threads, which run until both are done).
    asio::post(s.io, [&s] { s.begin_drain(); });
    if (s.grpc) s.grpc->shutdown(s.options.drain_timeout_s);
  });
  const auto keep_running = asio::make_work_guard(s.io);
  s.accept();
  s.io.run();  // returns once drained (or the drain timeout passed)
  {
    std::lock_guard<std::mutex> lock(s.stop_mutex);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
  watcher.join();
  // What is left after a drain timeout: the scoring threads finish their jobs, then every
  // connection still open is closed and its handlers run to their end.
  s.pool->finish();
  std::vector<Session*> left(s.sessions.begin(), s.sessions.end());
  for (Session* session : left) session->close();
  s.io.restart();
  while (!s.sessions.empty() && s.io.poll() > 0) {
  }
  s.finished = true;
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
    next = ServedModel::load(s.options.model, s.options.precision);
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
