// `heed serve` over loopback HTTP: scores equal `heed predict` on the same rows before and
// after hot reloads (over HTTP with the admin token, and by a changed file), refused reloads
// keep the old model serving, every bad request gets its 4xx and its count in /metrics, slow
// and half-closed clients are counted and do not stall anyone else, idle connections hold no
// worker, and connections beyond the cap get 503.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "httplib_client.h"
#include "serve_support.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

using testing::predict;
using testing::quoted;
using testing::read_rows;
using testing::split;

// Copies `from` over `to` the way a deploy would: a temporary file renamed into place.
void replace_file(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to.string() + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to.string() + ".new", to);
}

void expect_scores(const std::string& body, const std::vector<double>& expected,
                   std::size_t first = 0) {
  const Json answer = Json::parse(body);
  ASSERT_TRUE(answer.contains("scores")) << body;
  ASSERT_LE(first + answer["scores"].size(), expected.size());
  for (std::size_t i = 0; i < answer["scores"].size(); ++i)
    EXPECT_NEAR(answer["scores"][i].get<double>(), expected[first + i], 1e-6) << "score " << i;
}

// Unlabeled synthetic rows with the user side of row u and the candidate side of row c.
struct Requests {
  static constexpr std::size_t kUsers = 5, kCandidates = 20;
  std::vector<Json> bodies;  // one /v1/score request per user
  std::string rows_tsv;      // the same pairs as rows, for `heed predict`
};

Requests build_requests(const fs::path& test_tsv) {
  const auto rows = read_rows(test_tsv);  // user item genres history price count
  Requests out;
  out.rows_tsv = "user\titem\tgenres\thistory\tprice\tcount\n";
  for (std::size_t u = 0; u < Requests::kUsers; ++u) {
    const auto& user = rows[u];
    Json body{{"user", {{"user", user[0]}}}, {"candidates", Json::array()}};
    // Even users send lists and numbers, odd ones the file's own strings.
    body["user"]["history"] = u % 2 == 0 ? Json(split(user[3], '|')) : Json(user[3]);
    if (u % 2 == 0 && user[3].empty()) body["user"]["history"] = Json::array();
    for (std::size_t c = 0; c < Requests::kCandidates; ++c) {
      const auto& cand = rows[10 + c];
      Json candidate{{"item", cand[1]}, {"genres", cand[2]}};
      if (u % 2 == 0) {
        candidate["price"] = cand[4].empty() ? Json(nullptr) : Json(std::stod(cand[4]));
        candidate["count"] = std::stoi(cand[5]);
      } else {
        candidate["price"] = cand[4];
        candidate["count"] = cand[5];
      }
      body["candidates"].push_back(candidate);
      for (const std::string& cell : {user[0], cand[1], cand[2], user[3], cand[4]}) {
        out.rows_tsv += cell;
        out.rows_tsv += '\t';
      }
      out.rows_tsv += cand[5];
      out.rows_tsv += '\n';
    }
    out.bodies.push_back(body);
  }
  return out;
}

httplib::Headers bearer(const std::string& token) {
  std::string value = "Bearer ";
  value += token;
  return {{"Authorization", value}};
}

TEST(ServeEndToEnd, ScoresEqualPredictBeforeAndAfterHotReloads) {
  testing::TempDir dir("serve_e2e");
  const testing::SyntheticFiles files = testing::write_synthetic_data(dir.path());
  testing::write_file(dir / "serve.toml", testing::serve_config_text(dir.path()));
  for (const std::string seed : {"1", "2"}) {
    std::string run = "run";
    run += seed;
    const auto r =
        testing::run_command(testing::heed_binary() + " train " + quoted(dir / "serve.toml") +
                                 " --set train.seed=" + seed + " --out " + quoted(dir / run),
                             dir.path());
    ASSERT_EQ(r.status, 0) << r.err;
  }
  const fs::path run1 = dir / "run1", run2 = dir / "run2";
  const Requests requests = build_requests(files.unlabeled);
  testing::write_file(dir / "pairs.tsv", requests.rows_tsv);
  const std::vector<double> pairs1 = predict(run1 / "model", dir / "pairs.tsv", dir.path());
  const std::vector<double> pairs2 = predict(run2 / "model", dir / "pairs.tsv", dir.path());
  const std::vector<double> rows1 = predict(run1 / "model", files.unlabeled, dir.path());
  const std::vector<double> rows2 = predict(run2 / "model", files.unlabeled, dir.path());
  ASSERT_EQ(pairs1.size(), Requests::kUsers * Requests::kCandidates);
  ASSERT_EQ(rows1.size(), 1000u);
  ASSERT_EQ(rows2.size(), 1000u);
  double differ = 0;
  for (std::size_t i = 0; i < rows1.size(); ++i)
    differ = std::max(differ, std::abs(rows1[i] - rows2[i]));
  ASSERT_GT(differ, 1e-3) << "the two models should score differently";
  const std::string unlabeled = testing::read_file(files.unlabeled);

  auto check_all = [&](httplib::Client& client, const std::vector<double>& pairs,
                       const std::vector<double>& rows) {
    for (std::size_t u = 0; u < requests.bodies.size(); ++u) {
      const auto res = client.Post("/v1/score", requests.bodies[u].dump(), "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      expect_scores(res->body, pairs, u * Requests::kCandidates);
    }
    const auto res = client.Post("/v1/score_rows", unlabeled, "text/tab-separated-values");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    expect_scores(res->body, rows);
  };

  // Reload over HTTP, on a server that does not watch the file.
  fs::create_directories(dir / "serving");
  const fs::path served = dir / "serving" / "model";
  fs::copy_file(run1 / "model", served);
  fs::copy_file(run1 / "metrics.json", dir / "serving" / "metrics.json");
  {
    serve::ServerOptions options;
    options.model = served;
    options.threads = 3;
    options.watch = false;
    options.admin_token = "s3cret";
    testing::RunningServer server(options);
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(10, 0);
    check_all(client, pairs1, rows1);

    auto res = client.Get("/v1/model");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    const Json described = Json::parse(res->body);
    EXPECT_EQ(described["fields"].size(), 6u);
    EXPECT_FALSE(described["model"]["trained_at"].get<std::string>().empty());
    EXPECT_EQ(described["metrics"]["test"]["rows"], 1000) << "metrics.json beside the model";
    EXPECT_EQ(described["config"]["din"]["activation"], "dice");
    EXPECT_EQ(described["schema"]["din"][0]["keys"][0], "history");
    EXPECT_EQ(described["schema"]["din"][0]["queries"][0], "item");
    const std::string version1 = described["model"]["version"];

    replace_file(run2 / "model", served);
    res = client.Post("/v1/reload", "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << "no token";
    res = client.Post("/v1/reload", bearer("wrong"), "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << "a wrong token";
    check_all(client, pairs1, rows1);  // still the first model

    res = client.Post("/v1/reload", bearer("s3cret"), "", "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(Json::parse(res->body)["reloaded"], true);
    EXPECT_NE(Json::parse(res->body)["model"]["version"], version1);
    check_all(client, pairs2, rows2);

    // A corrupt file is refused and the model before it keeps serving.
    std::string bytes = testing::read_file(run1 / "model");
    bytes[bytes.size() / 2] ^= 0x5a;
    testing::write_file(dir / "corrupt", bytes);
    replace_file(dir / "corrupt", served);
    res = client.Post("/v1/reload", bearer("s3cret"), "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 422) << res->body;
    EXPECT_THAT(res->body, HasSubstr("corrupt"));
    check_all(client, pairs2, rows2);
    res = client.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_THAT(res->body, HasSubstr("heed_model_reloads_total{trigger=\"http\",result=\"ok\"} 1"));
    EXPECT_THAT(res->body,
                HasSubstr("heed_model_reloads_total{trigger=\"http\",result=\"failed\"} 1"));
    EXPECT_THAT(res->body, HasSubstr("heed_http_request_errors_total{kind=\"forbidden\"} 2"));
    EXPECT_THAT(res->body, HasSubstr("heed_http_request_errors_total{kind=\"reload_failed\"} 1"));

    // A model that reads other fields would break clients: refused too.
    Config other =
        parse_config(testing::serve_config_text(dir.path(), "[features.colour]\n"), "other.toml");
    Model untrained(other);
    save_checkpoint(dir / "other", untrained, {{"trained_at", "now"}}, "", nullptr);
    replace_file(dir / "other", served);
    res = client.Post("/v1/reload", bearer("s3cret"), "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 409) << res->body;
    EXPECT_THAT(res->body, HasSubstr("colour"));
    check_all(client, pairs2, rows2);
  }

  // Reload by a changed file.
  replace_file(run1 / "model", served);
  {
    serve::ServerOptions options;
    options.model = served;
    options.threads = 2;
    options.watch_interval_s = 0.1;
    testing::RunningServer server(options);
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(10, 0);
    check_all(client, pairs1, rows1);
    const std::string version1 = server.server().model()->version();

    replace_file(run2 / "model", served);
    for (int i = 0; i < 100 && server.server().model()->version() == version1; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_NE(server.server().model()->version(), version1) << "the changed file was not picked up";
    check_all(client, pairs2, rows2);

    testing::write_file(dir / "truncated", testing::read_file(run1 / "model").substr(0, 1000));
    replace_file(dir / "truncated", served);
    auto res = client.Get("/metrics");
    for (int i = 0; i < 100 && res &&
                    res->body.find("trigger=\"watch\",result=\"failed\"") == std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      res = client.Get("/metrics");
    }
    ASSERT_TRUE(res);
    EXPECT_THAT(res->body,
                HasSubstr("heed_model_reloads_total{trigger=\"watch\",result=\"failed\"} 1"));
    EXPECT_THAT(res->body,
                HasSubstr("heed_model_reloads_total{trigger=\"watch\",result=\"ok\"} 1"));
    check_all(client, pairs2, rows2);
  }
}

// A KServe v2 infer body for `rows` (user item genres history price count): one tensor per
// field; with `share_user`, the user's two fields as shape [1] tensors every candidate shares.
Json infer_body(const std::vector<std::vector<std::string>>& rows, bool share_user) {
  const std::vector<std::string> names = {"user", "item", "genres", "history", "price", "count"};
  Json inputs = Json::array();
  for (std::size_t c = 0; c < names.size(); ++c) {
    const bool shared = share_user && (names[c] == "user" || names[c] == "history");
    Json data = Json::array();
    for (std::size_t r = 0; r < (shared ? 1 : rows.size()); ++r) {
      if (names[c] == "count")
        data.push_back(std::stoll(rows[r][c]));
      else
        data.push_back(rows[r][c]);
    }
    const std::size_t n = data.size();
    inputs.push_back({{"name", names[c]},
                      {"datatype", names[c] == "count" ? "INT64" : "BYTES"},
                      {"shape", Json::array({n})},
                      {"data", std::move(data)}});
  }
  return Json{{"id", "req-1"}, {"inputs", std::move(inputs)}};
}

TEST(ServeEndToEnd, OpenInferenceProtocolOverHttpEqualsPredict) {
  testing::TempDir dir("serve_v2");
  const testing::SyntheticFiles files = testing::write_synthetic_data(dir.path());
  const Config config = parse_config(testing::serve_config_text(dir.path()), "serve.toml");
  testing::write_keyed_model(dir / "model", config, files.train);
  // 40 rows as they are, and the same candidates for the first row's user.
  const auto all = read_rows(files.unlabeled);
  std::vector<std::vector<std::string>> rows(all.begin(), all.begin() + 40), pairs = rows;
  std::string rows_tsv = "user\titem\tgenres\thistory\tprice\tcount\n", pairs_tsv = rows_tsv;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    pairs[r][0] = rows[0][0];
    pairs[r][3] = rows[0][3];
    for (std::size_t c = 0; c < 6; ++c) {
      rows_tsv += rows[r][c] + (c < 5 ? "\t" : "\n");
      pairs_tsv += pairs[r][c] + (c < 5 ? "\t" : "\n");
    }
  }
  testing::write_file(dir / "rows.tsv", rows_tsv);
  testing::write_file(dir / "pairs.tsv", pairs_tsv);
  const std::vector<double> expected_rows = predict(dir / "model", dir / "rows.tsv", dir.path());
  const std::vector<double> expected_pairs = predict(dir / "model", dir / "pairs.tsv", dir.path());
  ASSERT_EQ(expected_rows.size(), 40u);

  serve::ServerOptions options;
  options.model = dir / "model";
  options.threads = 2;
  options.watch = false;
  options.model_name = "ctr";
  testing::RunningServer server(options);
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(20, 0);
  for (const char* path : {"/v2/health/live", "/v2/health/ready", "/v2/models/ctr/ready"}) {
    const auto res = client.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
  }
  const auto meta = client.Get("/v2/models/ctr");
  ASSERT_TRUE(meta);
  const Json described = Json::parse(meta->body);
  EXPECT_EQ(described["name"], "ctr");
  EXPECT_EQ(described["inputs"].size(), 6u);
  EXPECT_EQ(described["outputs"][0]["name"], "score");
  EXPECT_EQ(client.Get("/v2/models/other")->status, 404);

  for (const bool share : {false, true}) {
    SCOPED_TRACE(share ? "user shared" : "every row whole");
    const auto res = client.Post("/v2/models/ctr/infer",
                                 infer_body(share ? pairs : rows, share).dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const Json answer = Json::parse(res->body);
    EXPECT_EQ(answer["id"], "req-1");
    EXPECT_EQ(answer["model_name"], "ctr");
    const Json& out = answer["outputs"][0];
    EXPECT_EQ(out["name"], "score");
    EXPECT_EQ(out["datatype"], "FP32");
    EXPECT_EQ(out["shape"], Json::array({40}));
    const std::vector<double>& expected = share ? expected_pairs : expected_rows;
    ASSERT_EQ(out["data"].size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
      EXPECT_NEAR(out["data"][i].get<double>(), expected[i], 1e-6) << i;
  }
  // Refusals: a missing input (all named at once), a wrong datatype, 1e308, too many rows.
  Json body = infer_body(rows, false);
  Json missing = body;
  missing["inputs"].erase(missing["inputs"].begin() + 4);
  missing["inputs"].erase(missing["inputs"].begin() + 4);
  auto res = client.Post("/v2/models/ctr/infer", missing.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("missing inputs 'price', 'count'"));
  Json overflow = body;
  overflow["inputs"][4] = {{"name", "price"}, {"datatype", "FP64"}, {"shape", {40}},
                           {"data", std::vector<double>(40, 1e308)}};
  res = client.Post("/v2/models/ctr/infer", overflow.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("price"));
  EXPECT_THAT(res->body, HasSubstr("bad_value"));
  Json wrong = body;
  wrong["inputs"][1]["datatype"] = "FP32";
  res = client.Post("/v2/models/ctr/infer", wrong.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("inputs[1] (item).data[0]"));
  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("heed_http_requests_total{endpoint=\"/v2/models/{name}/infer\",status=\"200\"} 2"));
}

class ServeLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::write_synthetic_data(dir_.path());
    config_ = parse_config(testing::serve_config_text(dir_.path()), "serve.toml");
    testing::write_keyed_model(dir_ / "model", config_, files_.train);
  }
  serve::ServerOptions options() const {
    serve::ServerOptions o;
    o.model = dir_ / "model";
    o.threads = 3;
    o.watch = false;
    o.read_timeout_s = 1.0;
    o.max_body_bytes = 4096;
    o.limits.max_candidates = 5;
    o.limits.max_values = 10;
    o.limits.max_rows = 50;
    return o;
  }
  static Json good_request() {
    return Json{
        {"user", {{"user", "u1"}, {"history", Json::array({"3", "4"})}}},
        {"candidates",
         Json::array({Json{{"item", "7"}, {"genres", "g0|g7"}, {"price", 2.5}, {"count", 3}}})}};
  }
  testing::TempDir dir_{"serve_limits"};
  testing::SyntheticFiles files_;
  Config config_;
};

TEST_F(ServeLimits, EveryBadRequestGetsItsStatusAndIsCounted) {
  testing::RunningServer server(options());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(10, 0);

  struct Case {
    std::string name, path, body;
    int status;
    std::string kind, says;
  };
  std::vector<Case> cases;
  auto with = [](auto edit) {
    Json j = good_request();
    edit(j);
    return j.dump();
  };
  cases.push_back(
      {"malformed JSON", "/v1/score", "{\"candidates\": [", 400, "bad_json", "not valid JSON"});
  // The parser's message quotes the bad byte; the answer must still be valid JSON.
  cases.push_back({"invalid UTF-8", "/v1/score", "{\"user\": {\"item\": \"\xff\"}}", 400, "bad_json",
                   "not valid JSON"});
  cases.push_back(
      {"not an object", "/v1/score", "[1, 2]", 400, "wrong_type", "must be a JSON object"});
  cases.push_back({"nested too deep", "/v1/score", "{\"candidates\": [[[[[[[1]]]]]]]}", 400,
                   "bad_json", "deeper"});
  cases.push_back({"candidates not a list", "/v1/score",
                   with([](Json& j) { j["candidates"] = "7"; }), 400, "wrong_type", "candidates"});
  cases.push_back({"a boolean value", "/v1/score",
                   with([](Json& j) { j["candidates"][0]["item"] = true; }), 400, "wrong_type",
                   "candidates[0].item"});
  cases.push_back({"a list for a categorical field", "/v1/score",
                   with([](Json& j) { j["candidates"][0]["item"] = Json::array({"7"}); }), 400,
                   "wrong_type", "item"});
  cases.push_back({"a fraction for a categorical field", "/v1/score",
                   with([](Json& j) { j["candidates"][0]["item"] = 7.5; }), 400, "wrong_type",
                   "item"});
  cases.push_back({"an unknown field", "/v1/score",
                   with([](Json& j) { j["user"]["colour"] = "red"; }), 400, "unknown_field",
                   "'colour'"});
  cases.push_back({"an unknown top-level field", "/v1/score",
                   with([](Json& j) { j["users"] = Json::object(); }), 400, "unknown_field",
                   "'users'"});
  cases.push_back({"no candidates", "/v1/score", with([](Json& j) { j.erase("candidates"); }), 400,
                   "missing_field", "candidates"});
  cases.push_back({"a missing field", "/v1/score",
                   with([](Json& j) { j["candidates"][0].erase("price"); }), 400, "missing_field",
                   "'price'"});
  cases.push_back({"a field given twice", "/v1/score",
                   with([](Json& j) { j["user"]["item"] = "8"; }), 400, "conflicting_field",
                   "item"});
  cases.push_back({"an empty candidate list", "/v1/score",
                   with([](Json& j) { j["candidates"] = Json::array(); }), 400, "empty_candidates",
                   "empty"});
  cases.push_back({"too many candidates", "/v1/score", with([](Json& j) {
                     for (int i = 0; i < 5; ++i) j["candidates"].push_back(j["candidates"][0]);
                   }),
                   413, "too_many_candidates", "--max-candidates"});
  cases.push_back({"a sequence over the limit", "/v1/score", with([](Json& j) {
                     j["user"]["history"] = Json(std::vector<std::string>(11, "3"));
                   }),
                   413, "too_many_values", "--max-values"});
  cases.push_back({"a sequence string over the limit", "/v1/score",
                   with([](Json& j) { j["user"]["history"] = "1|2|3|4|5|6|7|8|9|10|11"; }), 413,
                   "too_many_values", "history"});
  cases.push_back({"not a number", "/v1/score",
                   with([](Json& j) { j["candidates"][0]["price"] = "cheap"; }), 400, "bad_value",
                   "expects a number"});
  cases.push_back({"a body over the limit", "/v1/score", std::string(5000, ' '), 413,
                   "body_too_large", "--max-body-bytes"});
  cases.push_back({"rows without a needed column", "/v1/score_rows", "user\titem\nu1\t7\n", 400,
                   "bad_rows", "no column 'genres'"});
  cases.push_back({"rows with a bad value", "/v1/score_rows",
                   "user\titem\tgenres\thistory\tprice\tcount\nu1\t7\tg1\t3\tcheap\t4\n", 400,
                   "bad_rows", "body:2: column 5 (price)"});
  cases.push_back(
      {"rows with a sequence over the limit", "/v1/score_rows",
       "user\titem\tgenres\thistory\tprice\tcount\nu1\t7\tg1\t1|2|3|4|5|6|7|8|9|10|11\t2\t4\n", 413,
       "too_many_values", "row 1: 11 values of 'history'"});
  std::string many_rows = "user\titem\tgenres\thistory\tprice\tcount\n";
  many_rows.append(60 * 2, '\n');
  cases.push_back(
      {"too many rows", "/v1/score_rows", many_rows, 413, "too_many_rows", "--max-rows"});
  cases.push_back({"an unknown path", "/v1/nothing", "{}", 404, "not_found", "/v1/nothing"});

  std::map<std::string, int> expected_counts;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto res = client.Post(c.path, c.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << res->body;
    const Json answer = Json::parse(res->body, nullptr, false);
    ASSERT_FALSE(answer.is_discarded()) << res->body;
    EXPECT_EQ(answer["error"], c.kind) << res->body;
    EXPECT_THAT(answer["message"].get<std::string>(), HasSubstr(c.says));
    ++expected_counts[c.kind];
  }
  // A POST without Content-Length has an empty body (curl -X POST sends that).
  const int raw = testing::connect_loopback(server.port());
  ASSERT_GE(raw, 0);
  testing::send_all(raw, "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  const std::string no_body = testing::receive(raw, std::chrono::milliseconds(5000));
  ::close(raw);
  EXPECT_THAT(no_body, HasSubstr("400 Bad Request"));
  EXPECT_THAT(no_body, HasSubstr("\"error\":\"bad_json\""));
  ++expected_counts["bad_json"];

  const auto wrong_method = client.Get("/v1/score");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  ++expected_counts["method_not_allowed"];

  for (const auto& [kind, n] : expected_counts)
    EXPECT_EQ(server.server().metrics().errors(kind), static_cast<std::uint64_t>(n)) << kind;
  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("heed_http_request_errors_total{kind=\"bad_json\"} 4"));
  EXPECT_THAT(metrics->body,
              HasSubstr("heed_http_requests_total{endpoint=\"/v1/score\",status=\"413\"}"));
  EXPECT_THAT(
      metrics->body,
      HasSubstr("heed_http_request_duration_seconds_bucket{endpoint=\"/v1/score\",le=\"+Inf\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("heed_model_info{version=\""));

  const auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto good = client.Post("/v1/score", good_request().dump(), "application/json");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
}

TEST_F(ServeLimits, SlowAndHalfClosedClientsDoNotStallOthers) {
  serve::ServerOptions o = options();
  o.read_timeout_s = 3.0;
  testing::RunningServer server(o);
  const std::string body = good_request().dump();
  std::string head =
      "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nContent-Length: ";
  head += std::to_string(body.size());
  head += "\r\n\r\n";

  // Half a request, then nothing: the body deadline (--read-timeout, 3 s here) ends it.
  const int slow = testing::connect_loopback(server.port());
  ASSERT_GE(slow, 0);
  testing::send_all(slow, head + body.substr(0, body.size() / 2));
  // Half a request, then the write side closed.
  const int half_closed = testing::connect_loopback(server.port());
  ASSERT_GE(half_closed, 0);
  testing::send_all(half_closed, head + body.substr(0, body.size() / 3));
  ::shutdown(half_closed, SHUT_WR);

  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(5, 0);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    const auto res = client.Post("/v1/score", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2500))
      << "others were served while the slow client waited";

  // The half-closed one is refused (and counted) at once, with its 400, and closed.
  const auto closing = std::chrono::steady_clock::now();
  const std::string to_half_closed = testing::receive(half_closed, std::chrono::milliseconds(5000));
  EXPECT_THAT(to_half_closed, HasSubstr("incomplete_body"));
  EXPECT_LT(std::chrono::steady_clock::now() - closing, std::chrono::milliseconds(2500))
      << to_half_closed;
  const std::string to_slow = testing::receive(slow, std::chrono::milliseconds(5000));
  EXPECT_THAT(to_slow, HasSubstr("400"));
  EXPECT_THAT(to_slow, HasSubstr("incomplete_body"));
  ::close(slow);
  ::close(half_closed);
  EXPECT_EQ(server.server().metrics().errors("incomplete_body"), 2u);
  const auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServeLimits, ConnectionsBeyondTheCapGet503WithRetryAfter) {
  serve::ServerOptions o = options();
  o.threads = 1;
  o.max_connections = 2;
  o.head_timeout_s = 60.0;  // the idle ones stay open for the whole test
  testing::RunningServer server(o);
  // Two idle connections fill the cap (they hold no worker, only their place).
  const int idle1 = testing::connect_loopback(server.port());
  const int idle2 = testing::connect_loopback(server.port());
  ASSERT_GE(idle1, 0);
  ASSERT_GE(idle2, 0);
  for (int i = 0; i < 1000 && server.server().metrics().open_connections_now() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(server.server().metrics().open_connections_now(), 2);
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(20, 0);
  const auto refused = client.Get("/healthz");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_THAT(refused->body, HasSubstr("--max-connections"));
  ::close(idle1);
  // Served again once a place is free (the server sees the close a moment later: each try
  // until then is refused and counted the same way).
  int status = 0;
  std::uint64_t refusals = 1;
  for (int i = 0; i < 200 && status != 200; ++i) {
    httplib::Client again("127.0.0.1", server.port());
    again.set_read_timeout(20, 0);
    const auto res = again.Get("/healthz");
    status = res ? res->status : 0;
    if (status == 503) {
      ++refusals;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.server().metrics().errors("overloaded"), refusals);
  ::close(idle2);
}

TEST_F(ServeLimits, IdleKeepAliveAndSlowClientsHoldNoWorker) {
  serve::ServerOptions o = options();
  o.threads = 1;
  o.head_timeout_s = 60.0;  // longer than the test: only the event loop lets others through
  o.read_timeout_s = 60.0;
  testing::RunningServer server(o);
  // A kept-alive client that goes quiet, idle sockets, and clients sending a few bytes of a head
  // or half a body: with a thread per connection each would hold the only worker.
  httplib::Client first("127.0.0.1", server.port());
  first.set_keep_alive(true);
  first.set_read_timeout(20, 0);
  const auto alone = first.Get("/healthz");
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->status, 200);
  EXPECT_NE(alone->get_header_value("Connection"), "close");
  std::vector<int> quiet;
  for (int i = 0; i < 20; ++i) quiet.push_back(testing::connect_loopback(server.port()));
  const std::string body = good_request().dump();
  for (int i = 0; i < 5; ++i) {
    const int fd = testing::connect_loopback(server.port());
    testing::send_all(fd, i % 2 ? "POST /v1/sco" : "POST /v1/score HTTP/1.1\r\nContent-Length: 500\r\n\r\n{");
    quiet.push_back(fd);
  }
  httplib::Client other("127.0.0.1", server.port());
  other.set_read_timeout(20, 0);
  for (int i = 0; i < 5; ++i) {
    const auto res = other.Post("/v1/score", body, "application/json");
    ASSERT_TRUE(res) << "a client waited behind idle connections";
    EXPECT_EQ(res->status, 200);
  }
  // The quiet keep-alive client is still served on its connection.
  const auto again = first.Get("/healthz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  for (int fd : quiet) ::close(fd);
}

}  // namespace
}  // namespace heed
