// The holes an adversarial probe found in the thread-per-connection server, each closed: a
// request head trickled byte by byte (slowloris), pipelined requests, oversized heads and
// announced bodies, a million empty candidates, numbers past float's range, a second server on
// the same port, absolute paths in /v1/model, and missing fields reported one at a time.
// Everything runs over loopback with generous deadlines: the tests assert what is answered,
// never how fast.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "httplib_client.h"
#include "serve/request_error.h"
#include "serve_support.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
constexpr auto kPatience = std::chrono::milliseconds(20000);

class ServeTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::write_synthetic_data(dir_.path());
    config_ = parse_config(testing::serve_config_text(dir_.path()), "serve.toml");
    testing::write_keyed_model(dir_ / "model", config_, files_.train);
  }
  serve::ServerOptions options() const {
    serve::ServerOptions o;
    o.model = dir_ / "model";
    o.threads = 2;
    o.watch = false;
    o.limits.max_candidates = 100;
    return o;
  }
  static Json good_request() {
    return Json{
        {"user", {{"user", "u1"}, {"history", Json::array({"3", "4"})}}},
        {"candidates",
         Json::array({Json{{"item", "7"}, {"genres", "g0|g7"}, {"price", 2.5}, {"count", 3}}})}};
  }
  // Sends `bytes` on a new connection and returns everything answered until the server closes
  // it (or `stop_after` arrives).
  static std::string exchange(int port, const std::string& bytes, std::string_view stop_after = {}) {
    const int fd = testing::connect_loopback(port);
    if (fd < 0) return "connect failed";
    testing::send_all(fd, bytes);
    std::string got = testing::receive(fd, kPatience, stop_after);
    ::close(fd);
    return got;
  }
  static std::string post(const std::string& path, const std::string& body,
                          const std::string& extra_headers = "") {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
           extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  testing::TempDir dir_{"serve_transport"};
  testing::SyntheticFiles files_;
  Config config_;
};

TEST_F(ServeTransport, ASlowlorisHeadIsCutAtTheHeadDeadline) {
  serve::ServerOptions o = options();
  o.threads = 1;
  o.head_timeout_s = 1.0;
  testing::RunningServer server(o);
  const int fd = testing::connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  // A byte every 100 ms keeps every single read short of a per-read timeout; the head's own
  // deadline still ends it.
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  std::string got;
  for (std::size_t i = 0; i < 400 && got.empty(); ++i) {
    testing::send_all(fd, std::string(1, i < head.size() ? head[i] : 'a'));
    got = testing::receive(fd, std::chrono::milliseconds(100));
  }
  got += testing::receive(fd, kPatience);
  ::close(fd);
  EXPECT_THAT(got, HasSubstr("408"));
  EXPECT_THAT(got, HasSubstr("head_timeout"));
  EXPECT_EQ(server.server().metrics().errors("head_timeout"), 1u);
}

TEST_F(ServeTransport, PipelinedRequestsAreAllAnsweredInOrder) {
  testing::RunningServer server(options());
  const std::string score = post("/v1/score", good_request().dump());
  const std::string bytes = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" + score +
                            "GET /v1/nothing HTTP/1.1\r\nHost: a\r\n\r\n" + score +
                            "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string got = exchange(server.port(), bytes);
  // Five answers, in the order asked.
  std::vector<std::size_t> at;
  for (std::size_t p = got.find("HTTP/1.1 "); p != std::string::npos;
       p = got.find("HTTP/1.1 ", p + 1))
    at.push_back(p);
  ASSERT_EQ(at.size(), 5u) << got;
  EXPECT_EQ(got.substr(at[0], 12), "HTTP/1.1 200");
  EXPECT_EQ(got.substr(at[1], 12), "HTTP/1.1 200");
  EXPECT_EQ(got.substr(at[2], 12), "HTTP/1.1 404");
  EXPECT_EQ(got.substr(at[3], 12), "HTTP/1.1 200");
  EXPECT_EQ(got.substr(at[4], 12), "HTTP/1.1 200");
  EXPECT_THAT(got.substr(at[0], at[1] - at[0]), HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(got.substr(at[1], at[2] - at[1]), HasSubstr("\"scores\":["));
  EXPECT_THAT(got.substr(at[3], at[4] - at[3]), HasSubstr("\"scores\":["));
}

TEST_F(ServeTransport, OversizedHeadsAre431AndAnnouncedBodiesOverTheLimit413) {
  serve::ServerOptions o = options();
  o.max_head_bytes = 8192;
  o.max_body_bytes = 4096;
  testing::RunningServer server(o);
  // One long header line, and many small headers: refused once the limit is passed, without
  // waiting for the rest (which never comes here).
  const std::string long_line =
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'x');
  EXPECT_THAT(exchange(server.port(), long_line), HasSubstr("431"));
  std::string many = "GET /healthz HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  const std::string got_many = exchange(server.port(), many);
  EXPECT_THAT(got_many, HasSubstr("431"));
  EXPECT_THAT(got_many, HasSubstr("--max-head-bytes"));
  // A huge Content-Length: answered from the head, the body is never read.
  const std::string huge =
      "POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Length: 5800000000\r\n\r\n{\"candidates\":";
  const std::string got_huge = exchange(server.port(), huge);
  EXPECT_THAT(got_huge, HasSubstr("413"));
  EXPECT_THAT(got_huge, HasSubstr("body_too_large"));
  // A chunked body is cut when it passes the limit.
  std::string chunked = "POST /v1/score HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  EXPECT_THAT(exchange(server.port(), chunked), HasSubstr("413"));
  EXPECT_EQ(server.server().metrics().errors("head_too_large"), 2u);
  EXPECT_EQ(server.server().metrics().errors("body_too_large"), 2u);
  // Still serving.
  EXPECT_THAT(exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
              HasSubstr("200 OK"));
}

TEST_F(ServeTransport, AMillionEmptyCandidatesAreRefusedWhileParsing) {
  serve::ServerOptions o = options();
  o.max_body_bytes = 8u << 20;
  testing::RunningServer server(o);
  std::string body = "{\"candidates\": [";
  for (int i = 0; i < 1000000; ++i) body += i ? ",{}" : "{}";
  body += "]}";
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(60, 0);
  client.set_write_timeout(60, 0);
  // Two at once, as in the probe; /healthz answers meanwhile and after.
  std::thread second([&] {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(60, 0);
    c.set_write_timeout(60, 0);
    c.Post("/v1/score", body, "application/json");
  });
  const auto res = client.Post("/v1/score", body, "application/json");
  second.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_THAT(res->body, HasSubstr("too_many_candidates"));
  const auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // Deep, long and repeated: each refused by its own limit.
  serve::Limits limits;
  limits.max_string_bytes = 100;
  const auto model = server.server().model();
  auto kind_of = [&](const std::string& text) {
    try {
      serve::parse_score_request(text, *model, limits);
    } catch (const serve::RequestError& e) {
      return e.kind() + ": " + e.what();
    }
    return std::string("accepted");
  };
  EXPECT_THAT(kind_of(R"({"user": {"user": ")" + std::string(101, 'u') + R"("}, "candidates": [{}]})"),
              HasSubstr("value_too_long: user.user"));
  EXPECT_THAT(kind_of(R"({"candidates": [{"item": "1", "item": "2"}]})"),
              HasSubstr("conflicting_field: candidates[0].item"));
  EXPECT_THAT(kind_of(R"({"candidates": [{"history": [[[["1"]]]]}]})"), HasSubstr("bad_json"));
  EXPECT_THAT(kind_of(R"({"candidates": [{"colour": 1}]})"),
              HasSubstr("unknown_field: candidates[0]: unknown field 'colour'"));
}

TEST_F(ServeTransport, NumbersPastFloatAre400NamingTheField) {
  testing::RunningServer server(options());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(20, 0);
  for (const char* number : {"1e308", "-1e39", "1e400", "\"1e308\"", "\"inf\"", "\"nan\""}) {
    SCOPED_TRACE(number);
    std::string body = good_request().dump();
    const std::string price = "\"price\":2.5";
    ASSERT_NE(body.find(price), std::string::npos);
    body.replace(body.find(price), price.size(), std::string("\"price\":") + number);
    const auto res = client.Post("/v1/score", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_THAT(res->body, HasSubstr("bad_value"));
    EXPECT_THAT(res->body, HasSubstr("candidates[0].price"));
    EXPECT_THAT(res->body, Not(HasSubstr("null")));
  }
}

TEST_F(ServeTransport, PredictAndEvalRefuseNumbersPastFloatNamingFileLineAndColumn) {
  testing::write_file(dir_ / "bad.tsv",
                      "label\tuser\titem\tgenres\thistory\tprice\tcount\n"
                      "1\tu1\t7\tg0\t3|4\t2.5\t3\n"
                      "0\tu1\t7\tg0\t3|4\t1e308\t3\n");
  const std::string model = "'" + (dir_ / "model").string() + "'";
  const std::string data = "'" + (dir_ / "bad.tsv").string() + "'";
  for (const std::string& command : {" predict " + model + " --data " + data,
                                    " eval " + model + " --data " + data}) {
    SCOPED_TRACE(command);
    const auto r = testing::run_command(testing::heed_binary() + command, dir_.path());
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_THAT(r.err, HasSubstr("bad.tsv:3: column 6 (price)"));
    EXPECT_THAT(r.out, Not(HasSubstr("nan")));
  }
}

TEST_F(ServeTransport, EveryMissingFieldIsReportedAtOnce) {
  testing::RunningServer server(options());
  httplib::Client client("127.0.0.1", server.port());
  Json request = good_request();
  request["candidates"].push_back(request["candidates"][0]);
  request["candidates"][0].erase("price");
  request["candidates"][0].erase("count");
  request["candidates"][1].erase("count");
  const auto res = client.Post("/v1/score", request.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("missing_field"));
  EXPECT_THAT(res->body, HasSubstr("'price' (missing in candidates 0)"));
  EXPECT_THAT(res->body, HasSubstr("'count' (missing in every candidate)"));
}

TEST_F(ServeTransport, ASecondServerOnTheSamePortIsRefused) {
  testing::RunningServer first(options());
  serve::ServerOptions o = options();
  o.host = "127.0.0.1";
  o.port = first.port();
  serve::Server second(o);
  EXPECT_THAT(HEED_ERROR_MESSAGE(second.bind(), Error), HasSubstr("another process listens"));
  // Out-of-range numbers are refused before anything starts.
  for (auto edit : std::vector<std::function<void(serve::ServerOptions&)>>{
           [](auto& x) { x.port = 70000; }, [](auto& x) { x.read_timeout_s = -1; },
           [](auto& x) { x.head_timeout_s = 0; }, [](auto& x) { x.max_connections = 0; }}) {
    serve::ServerOptions bad = options();
    edit(bad);
    EXPECT_THROW(serve::Server{bad}, Error);
  }
}

TEST_F(ServeTransport, TheDrainIsBoundedByTheDrainTimeout) {
  serve::ServerOptions o = options();
  o.read_timeout_s = 60;  // the stuck client alone would hold the drain for a minute
  o.drain_timeout_s = 1;
  auto server = std::make_unique<testing::RunningServer>(o);
  const int stuck = testing::connect_loopback(server->port());
  ASSERT_GE(stuck, 0);
  testing::send_all(stuck, "POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{");
  // Accepted and begun before the stop: the drain waits for it, up to the drain timeout.
  for (int i = 0; i < 1000 && server->server().metrics().open_connections_now() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::thread stopper([&] { server.reset(); });  // stop() and wait for run() to return
  // The server closes the stuck connection when the drain timeout passes (EOF here).
  const std::string got = testing::receive(stuck, kPatience);
  char byte = 0;
  const ssize_t after = ::recv(stuck, &byte, 1, MSG_DONTWAIT);  // 0: closed; -1: still open
  stopper.join();
  ::close(stuck);
  EXPECT_EQ(got, "");
  EXPECT_EQ(after, 0) << "the connection was still open after the drain timeout";
}

TEST_F(ServeTransport, ModelDescriptionShowsAbsolutePathsOnlyToTheAdmin) {
  serve::ServerOptions o = options();
  o.admin_token = "sesame";
  testing::RunningServer server(o);
  httplib::Client client("127.0.0.1", server.port());
  const std::string dir = dir_.path().string();
  ASSERT_EQ(dir.front(), '/');
  const auto anyone = client.Get("/v1/model");
  ASSERT_TRUE(anyone);
  EXPECT_EQ(anyone->status, 200);
  EXPECT_THAT(anyone->body, Not(HasSubstr(dir)));
  EXPECT_THAT(anyone->body, Not(HasSubstr("\"/")));
  EXPECT_EQ(Json::parse(anyone->body)["model"]["path"], "model");
  const auto admin = client.Get("/v1/model", {{"Authorization", "Bearer sesame"}});
  ASSERT_TRUE(admin);
  EXPECT_THAT(admin->body, HasSubstr(dir));
  const auto wrong = client.Get("/v1/model", {{"Authorization", "Bearer sesam"}});
  ASSERT_TRUE(wrong);
  EXPECT_THAT(wrong->body, Not(HasSubstr(dir)));
}

}  // namespace
}  // namespace heed
