// `heed serve --grpc-port` through gRPC's own C++ client (the stub generated from
// src/serve/inference.proto): every call of inference.GRPCInferenceService, scores equal to
// `heed predict` and to the HTTP route with typed and with raw tensor contents, malformed and
// oversized requests refused with INVALID_ARGUMENT / RESOURCE_EXHAUSTED and counted in /metrics,
// hot reloads seen by gRPC calls, calls in flight answered through a drain, and a taken port.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "httplib_client.h"
#include "serve/grpc_server.h"
#include "serve/inference.grpc.pb.h"
#include "serve_support.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;
namespace pb = ::inference;

constexpr const char* kFields[] = {"user", "item", "genres", "history", "price", "count"};

std::unique_ptr<pb::GRPCInferenceService::Stub> connect(int port) {
  return pb::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// A call's context with a generous deadline: a broken server fails the test, never hangs it.
std::unique_ptr<grpc::ClientContext> context() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return c;
}

// A ModelInfer request for `rows` (user item genres history price count): BYTES tensors, count
// as INT64, price as FP64 (an empty cell: a BYTES tensor of strings instead, as the file holds
// it). With `share_user`, user and history as shape [1] tensors every candidate shares; with
// `raw`, every tensor's elements packed in raw_input_contents as Triton's clients send them.
pb::ModelInferRequest infer_request(const std::vector<std::vector<std::string>>& rows,
                                    bool share_user, bool raw) {
  pb::ModelInferRequest request;
  request.set_model_name("ctr");
  request.set_id("call-1");
  bool price_numeric = true;
  for (const auto& row : rows) price_numeric = price_numeric && !row[4].empty();
  for (std::size_t c = 0; c < 6; ++c) {
    const std::string name = kFields[c];
    const bool shared = share_user && (name == "user" || name == "history");
    const std::size_t n = shared ? 1 : rows.size();
    pb::ModelInferRequest::InferInputTensor* t = request.add_inputs();
    t->set_name(name);
    t->add_shape(static_cast<std::int64_t>(n));
    std::string packed;
    if (name == "count") {
      t->set_datatype("INT64");
      for (std::size_t r = 0; r < n; ++r) {
        const std::int64_t v = std::stoll(rows[r][c]);
        if (raw)
          packed.append(reinterpret_cast<const char*>(&v), sizeof v);
        else
          t->mutable_contents()->add_int64_contents(v);
      }
    } else if (name == "price" && price_numeric) {
      t->set_datatype("FP64");
      for (std::size_t r = 0; r < n; ++r) {
        const double v = std::stod(rows[r][c]);
        if (raw)
          packed.append(reinterpret_cast<const char*>(&v), sizeof v);
        else
          t->mutable_contents()->add_fp64_contents(v);
      }
    } else {
      t->set_datatype("BYTES");
      for (std::size_t r = 0; r < n; ++r) {
        const std::string& v = rows[r][c];
        if (raw) {
          const auto length = static_cast<std::uint32_t>(v.size());
          packed.append(reinterpret_cast<const char*>(&length), 4);
          packed += v;
        } else {
          t->mutable_contents()->add_bytes_contents(v);
        }
      }
    }
    if (raw) request.add_raw_input_contents(packed);
  }
  return request;
}

// Makes the request's price tensor (inputs[4]) an FP64 one of 2.5s, element `at` set to `value`.
void set_prices(pb::ModelInferRequest& r, int at, double value) {
  auto* t = r.mutable_inputs(4);
  t->set_datatype("FP64");
  t->clear_contents();
  for (int i = 0; i < t->shape(0); ++i)
    t->mutable_contents()->add_fp64_contents(i == at ? value : 2.5);
}

// The scores of an answer, from whichever encoding it used.
std::vector<float> scores_of(const pb::ModelInferResponse& response) {
  if (response.outputs_size() != 1) return {};
  if (response.raw_output_contents_size() == 1) {
    const std::string& raw = response.raw_output_contents(0);
    std::vector<float> out(raw.size() / sizeof(float));
    std::memcpy(out.data(), raw.data(), out.size() * sizeof(float));
    return out;
  }
  const auto& c = response.outputs(0).contents().fp32_contents();
  return {c.begin(), c.end()};
}

class ServeGrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::write_synthetic_data(dir_.path());
    config_ = parse_config(testing::serve_config_text(dir_.path()), "serve.toml");
    testing::write_keyed_model(dir_ / "model", config_, files_.train);
    const auto all = testing::read_rows(files_.unlabeled);
    // 40 rows as they are, and the same candidates for the first row's user.
    rows_.assign(all.begin(), all.begin() + 40);
    pairs_ = rows_;
    for (auto& row : pairs_) {
      row[0] = rows_[0][0];
      row[3] = rows_[0][3];
    }
  }
  serve::ServerOptions options() const {
    serve::ServerOptions o;
    o.model = dir_ / "model";
    o.threads = 2;
    o.watch = false;
    o.model_name = "ctr";
    o.grpc_port = 0;
    return o;
  }
  // `heed predict`'s scores of `rows` with the model file now at `model`.
  std::vector<double> predict(const std::vector<std::vector<std::string>>& rows,
                              const fs::path& model) const {
    std::string tsv = "user\titem\tgenres\thistory\tprice\tcount\n";
    for (const auto& row : rows)
      for (std::size_t c = 0; c < 6; ++c) tsv += row[c] + (c < 5 ? "\t" : "\n");
    testing::write_file(dir_ / "rows.tsv", tsv);
    return testing::predict(model, dir_ / "rows.tsv", dir_.path());
  }
  static std::string metrics_text(int http_port) {
    httplib::Client client("127.0.0.1", http_port);
    client.set_read_timeout(20, 0);
    const auto res = client.Get("/metrics");
    return res ? res->body : std::string("no answer");
  }

  testing::TempDir dir_{"serve_grpc"};
  testing::SyntheticFiles files_;
  Config config_;
  std::vector<std::vector<std::string>> rows_, pairs_;
};

TEST_F(ServeGrpc, EveryCallAnswersAndScoresEqualPredictAndTheHttpRoute) {
  const std::vector<double> expected_rows = predict(rows_, dir_ / "model");
  const std::vector<double> expected_pairs = predict(pairs_, dir_ / "model");
  ASSERT_EQ(expected_rows.size(), rows_.size());
  testing::RunningServer server(options());
  ASSERT_GT(server.server().grpc_port(), 0);
  auto stub = connect(server.server().grpc_port());

  pb::ServerLiveResponse live;
  ASSERT_TRUE(stub->ServerLive(context().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  pb::ServerReadyResponse ready;
  ASSERT_TRUE(stub->ServerReady(context().get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  pb::ServerMetadataResponse server_meta;
  ASSERT_TRUE(stub->ServerMetadata(context().get(), {}, &server_meta).ok());
  EXPECT_EQ(server_meta.name(), "heed");
  pb::ModelReadyRequest ready_request;
  ready_request.set_name("ctr");
  pb::ModelReadyResponse model_ready;
  ASSERT_TRUE(stub->ModelReady(context().get(), ready_request, &model_ready).ok());
  EXPECT_TRUE(model_ready.ready());
  pb::ModelMetadataRequest meta_request;
  meta_request.set_name("ctr");
  pb::ModelMetadataResponse meta;
  ASSERT_TRUE(stub->ModelMetadata(context().get(), meta_request, &meta).ok());
  EXPECT_EQ(meta.name(), "ctr");
  ASSERT_EQ(meta.versions_size(), 1);
  EXPECT_EQ(meta.versions(0), server.server().model()->version());
  ASSERT_EQ(meta.inputs_size(), 6);
  EXPECT_EQ(meta.inputs(4).name(), "price");
  EXPECT_EQ(meta.inputs(4).datatype(), "FP64");
  EXPECT_EQ(meta.inputs(1).datatype(), "BYTES");
  ASSERT_EQ(meta.outputs_size(), 1);
  EXPECT_EQ(meta.outputs(0).name(), "score");
  meta_request.set_name("other");
  const grpc::Status unknown = stub->ModelMetadata(context().get(), meta_request, &meta);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("no model 'other'"));

  httplib::Client http("127.0.0.1", server.port());
  http.set_read_timeout(20, 0);
  for (const bool share : {false, true}) {
    for (const bool raw : {false, true}) {
      SCOPED_TRACE(std::string(share ? "user shared" : "every row whole") +
                   (raw ? ", raw contents" : ", typed contents"));
      const auto& rows = share ? pairs_ : rows_;
      const std::vector<double>& expected = share ? expected_pairs : expected_rows;
      pb::ModelInferResponse response;
      const grpc::Status status =
          stub->ModelInfer(context().get(), infer_request(rows, share, raw), &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.model_name(), "ctr");
      EXPECT_EQ(response.model_version(), server.server().model()->version());
      EXPECT_EQ(response.id(), "call-1");
      ASSERT_EQ(response.outputs_size(), 1);
      EXPECT_EQ(response.outputs(0).name(), "score");
      EXPECT_EQ(response.outputs(0).datatype(), "FP32");
      ASSERT_EQ(response.outputs(0).shape_size(), 1);
      EXPECT_EQ(response.outputs(0).shape(0), static_cast<std::int64_t>(rows.size()));
      EXPECT_EQ(response.raw_output_contents_size(), raw ? 1 : 0);
      const std::vector<float> scores = scores_of(response);
      ASSERT_EQ(scores.size(), expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i)
        EXPECT_NEAR(scores[i], expected[i], 1e-6) << i;
      // The HTTP route's answer to the same tensors, as JSON: the same numbers.
      Json body{{"inputs", Json::array()}};
      const pb::ModelInferRequest typed = infer_request(rows, share, false);
      for (const auto& t : typed.inputs()) {
        Json data = Json::array();
        for (const auto& v : t.contents().bytes_contents()) data.push_back(v);
        for (const auto v : t.contents().int64_contents()) data.push_back(v);
        for (const auto v : t.contents().fp64_contents()) data.push_back(v);
        body["inputs"].push_back({{"name", t.name()},
                                  {"datatype", t.datatype()},
                                  {"shape", {t.shape(0)}},
                                  {"data", std::move(data)}});
      }
      const auto res = http.Post("/v2/models/ctr/infer", body.dump(), "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      const Json answer = Json::parse(res->body);
      const Json& data = answer["outputs"][0]["data"];
      ASSERT_EQ(data.size(), scores.size());
      for (std::size_t i = 0; i < scores.size(); ++i) EXPECT_EQ(data[i].get<float>(), scores[i]);
    }
  }
  const std::string metrics = metrics_text(server.port());
  EXPECT_THAT(metrics, HasSubstr("heed_http_requests_total{endpoint=\"/inference."
                                 "GRPCInferenceService/ModelInfer\",status=\"200\"} 4"));
  EXPECT_THAT(metrics, HasSubstr("heed_http_requests_total{endpoint=\"/inference."
                                 "GRPCInferenceService/ModelMetadata\",status=\"404\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("heed_http_request_duration_seconds_count{endpoint=\"/inference."
                                 "GRPCInferenceService/ModelInfer\"} 4"));
}

TEST_F(ServeGrpc, MalformedAndOversizedRequestsGetClearStatusesAndAreCounted) {
  serve::ServerOptions o = options();
  o.limits.max_candidates = 50;
  o.limits.max_string_bytes = 100;
  o.max_body_bytes = 64 << 10;
  testing::RunningServer server(o);
  auto stub = connect(server.server().grpc_port());
  const pb::ModelInferRequest good = infer_request(rows_, false, false);
  struct Case {
    const char* what;
    std::function<void(pb::ModelInferRequest&)> change;
    grpc::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"a missing input",
       [](pb::ModelInferRequest& r) { r.mutable_inputs()->DeleteSubrange(4, 2); },
       grpc::StatusCode::INVALID_ARGUMENT, "missing inputs 'price', 'count'"},
      {"a numeric datatype for a categorical field",
       [](pb::ModelInferRequest& r) {
         auto* t = r.mutable_inputs(1);
         t->set_datatype("FP32");
         t->clear_contents();
         for (int i = 0; i < 40; ++i) t->mutable_contents()->add_fp32_contents(0.5f);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "inputs[1] (item).data[0]"},
      {"elements in the field of another datatype",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(5)->set_datatype("FP32"); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "a FP32 tensor's elements go in contents.fp32_contents, this one holds int64_contents"},
      {"a datatype heed does not read",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(2)->set_datatype("BOOL"); },
       grpc::StatusCode::INVALID_ARGUMENT, "datatype BOOL"},
      {"a shape that disagrees with the elements",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(1)->set_shape(0, 39); },
       grpc::StatusCode::INVALID_ARGUMENT, "shape says 39 elements, data holds 40"},
      {"a shape of two columns",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(1)->add_shape(2); },
       grpc::StatusCode::INVALID_ARGUMENT, "expected [N] or [N, 1], found [40, 2]"},
      {"a negative shape",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(1)->set_shape(0, -1); },
       grpc::StatusCode::INVALID_ARGUMENT, "found [-1]"},
      {"an unknown input",
       [](pb::ModelInferRequest& r) { r.mutable_inputs(0)->set_name("nobody"); },
       grpc::StatusCode::INVALID_ARGUMENT, "unknown input 'nobody'"},
      {"a number that is not finite",
       [](pb::ModelInferRequest& r) { set_prices(r, 3, std::nan("")); },
       grpc::StatusCode::INVALID_ARGUMENT, "inputs[4] (price).data[3]: nan is not a finite"},
      {"an infinite number",
       [](pb::ModelInferRequest& r) { set_prices(r, 0, -HUGE_VAL); },
       grpc::StatusCode::INVALID_ARGUMENT, "inputs[4] (price).data[0]: -inf is not a finite"},
      {"a number past float's range",
       [](pb::ModelInferRequest& r) { set_prices(r, 2, 1e308); },
       grpc::StatusCode::INVALID_ARGUMENT, "feature 'price' expects a finite number within"},
      {"raw contents for some inputs only",
       [](pb::ModelInferRequest& r) { r.add_raw_input_contents("abcd"); },
       grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents holds 1 entries for 6 inputs"},
      {"another model",
       [](pb::ModelInferRequest& r) { r.set_model_name("other"); }, grpc::StatusCode::NOT_FOUND,
       "no model 'other'"},
      {"more candidates than --max-candidates",
       [](pb::ModelInferRequest& r) {
         for (auto& t : *r.mutable_inputs()) {
           t.set_shape(0, 80);
           auto* c = t.mutable_contents();
           for (int i = 0; i < 40; ++i) {
             if (c->bytes_contents_size()) c->add_bytes_contents(c->bytes_contents(i));
             if (c->int64_contents_size()) c->add_int64_contents(c->int64_contents(i));
             if (c->fp64_contents_size()) c->add_fp64_contents(c->fp64_contents(i));
           }
         }
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "80 candidates, more than the limit of 50"},
      {"a string longer than --max-string-bytes",
       [](pb::ModelInferRequest& r) {
         r.mutable_inputs(0)->mutable_contents()->set_bytes_contents(0, std::string(200, 'u'));
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "a string of 200 bytes, more than the limit of 100"},
      {"a message larger than --max-body-bytes",
       [](pb::ModelInferRequest& r) { r.set_id(std::string(100 << 10, 'x')); },
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    pb::ModelInferRequest request = good;
    c.change(request);
    pb::ModelInferResponse response;
    const grpc::Status status = stub->ModelInfer(context().get(), request, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  // A truncated raw BYTES element: the length announces more than is left.
  pb::ModelInferRequest raw = infer_request(rows_, false, true);
  raw.mutable_raw_input_contents(0)->resize(raw.raw_input_contents(0).size() - 1);
  pb::ModelInferResponse response;
  const grpc::Status truncated = stub->ModelInfer(context().get(), raw, &response);
  EXPECT_EQ(truncated.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(truncated.error_message(), HasSubstr("inputs[0] (user): a raw BYTES element"));
  // The good request still scores: nothing above hurt the server.
  const grpc::Status ok = stub->ModelInfer(context().get(), good, &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // Refusals count under their kinds, as the HTTP routes' do.
  const std::string metrics = metrics_text(server.port());
  EXPECT_THAT(metrics, HasSubstr("heed_http_request_errors_total{kind=\"missing_field\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("heed_http_request_errors_total{kind=\"too_many_candidates\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("heed_http_request_errors_total{kind=\"value_too_long\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("heed_http_requests_total{endpoint=\"/inference."
                                 "GRPCInferenceService/ModelInfer\",status=\"413\"} 2"));
}

TEST_F(ServeGrpc, CallsScoreWithTheModelAHotReloadSwappedIn) {
  Config other = config_;
  other.train.seed = 2;
  testing::write_keyed_model(dir_ / "model2", other, files_.train);
  const std::vector<double> before = predict(rows_, dir_ / "model");
  const std::vector<double> after = predict(rows_, dir_ / "model2");
  ASSERT_EQ(after.size(), rows_.size());
  ASSERT_GT(std::abs(before[0] - after[0]) + std::abs(before[1] - after[1]), 1e-4)
      << "the two models should score differently";
  testing::RunningServer server(options());
  auto stub = connect(server.server().grpc_port());
  const std::string first_version = server.server().model()->version();
  pb::ModelInferResponse response;
  ASSERT_TRUE(stub->ModelInfer(context().get(), infer_request(rows_, false, false), &response).ok());
  EXPECT_NEAR(scores_of(response)[0], before[0], 1e-6);
  fs::copy_file(dir_ / "model2", dir_ / "model", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(server.server().reload("test").changed);
  response.Clear();
  ASSERT_TRUE(stub->ModelInfer(context().get(), infer_request(rows_, false, false), &response).ok());
  EXPECT_NE(response.model_version(), first_version);
  const std::vector<float> scores = scores_of(response);
  ASSERT_EQ(scores.size(), after.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_NEAR(scores[i], after[i], 1e-6) << i;
  // A version the server no longer holds is not found.
  pb::ModelInferRequest pinned = infer_request(rows_, false, false);
  pinned.set_model_version(first_version);
  const grpc::Status gone = stub->ModelInfer(context().get(), pinned, &response);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServeGrpc, ADrainAnswersEveryCallAlreadyAccepted) {
  serve::ServerOptions o = options();
  o.threads = 1;
  o.max_queue = 64;
  // 16 calls of 1000 candidates each on one scoring thread: most of them wait in the queue
  // when the drain begins.
  o.limits.max_candidates = 1000;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < 1000; ++i) rows.push_back(rows_[i % rows_.size()]);
  const pb::ModelInferRequest request = infer_request(rows, false, false);
  auto server = std::make_unique<testing::RunningServer>(o);
  const int port = server->server().grpc_port();
  constexpr int kCalls = 16;
  std::atomic<int> answered{0};
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> clients;
  for (int i = 0; i < kCalls; ++i)
    clients.emplace_back([&, i] {
      auto stub = connect(port);
      pb::ModelInferResponse response;
      statuses[static_cast<std::size_t>(i)] =
          stub->ModelInfer(context().get(), request, &response);
      if (statuses[static_cast<std::size_t>(i)].ok() &&
          scores_of(response).size() == rows.size())
        ++answered;
    });
  // Every call accepted before the drain begins: in flight, or already answered.
  const serve::ServerMetrics& metrics = server->server().metrics();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (metrics.in_flight_now() +
                 static_cast<long>(metrics.requests(serve::GrpcServer::kInferPath, 200)) <
             kCalls &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GT(metrics.in_flight_now(), 0) << "every call ended before the drain: nothing to check";
  server.reset();  // stop(): drains, then returns
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kCalls; ++i)
    EXPECT_TRUE(statuses[static_cast<std::size_t>(i)].ok())
        << i << ": " << statuses[static_cast<std::size_t>(i)].error_message();
  EXPECT_EQ(answered.load(), kCalls);
}

TEST_F(ServeGrpc, ASecondServerOnTheSameGrpcPortIsRefused) {
  testing::RunningServer first(options());
  serve::ServerOptions o = options();
  o.grpc_port = first.server().grpc_port();
  o.host = "127.0.0.1";
  o.port = 0;
  serve::Server second(o);
  try {
    second.bind();
    FAIL() << "a second server bound gRPC port " << o.grpc_port;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot listen for gRPC on 127.0.0.1:" +
                                    std::to_string(o.grpc_port)));
  }
  // The first one still answers.
  auto stub = connect(first.server().grpc_port());
  pb::ServerLiveResponse live;
  EXPECT_TRUE(stub->ServerLive(context().get(), {}, &live).ok());
}

}  // namespace
}  // namespace heed
