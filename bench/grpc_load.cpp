// A closed-loop gRPC load client for bench/serve_bench.sh, the gRPC twin of its wrk runs: C
// connections, each with one ModelInfer call outstanding at a time (the next starts when the
// last is answered), for D seconds; then one summary line in wrk's script's format:
//   p50_ms=.. p99_ms=.. requests_per_s=.. requests=.. errors=..
// errors: calls that ended with any status but OK (deadline, refusal, connection lost).
//
//   grpc_load --port 8766 --connections 64 --duration 10 --body infer.json
//
// The body is a KServe v2 infer request as JSON (bench/serve_request.py --v2 writes one); it is
// sent as typed tensor contents (BYTES: bytes_contents; integers: int64_contents; numbers with
// a fraction: fp64_contents). Each connection is a channel of its own with its own TCP
// connection, as each of wrk's connections is.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "serve/inference.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace pb = ::inference;

pb::ModelInferRequest request_of(const Json& body, const std::string& model) {
  pb::ModelInferRequest request;
  request.set_model_name(model);
  for (const Json& in : body.at("inputs")) {
    pb::ModelInferRequest::InferInputTensor* t = request.add_inputs();
    t->set_name(in.at("name").get<std::string>());
    t->set_datatype(in.at("datatype").get<std::string>());
    for (const Json& d : in.at("shape")) t->add_shape(d.get<std::int64_t>());
    for (const Json& v : in.at("data")) {
      if (t->datatype() == "BYTES")
        t->mutable_contents()->add_bytes_contents(v.get<std::string>());
      else if (t->datatype() == "INT64")
        t->mutable_contents()->add_int64_contents(v.get<std::int64_t>());
      else
        t->mutable_contents()->add_fp64_contents(v.get<double>());
    }
  }
  return request;
}

// One connection: its channel and the call in flight.
struct Slot {
  std::unique_ptr<pb::GRPCInferenceService::Stub> stub;
  std::unique_ptr<grpc::ClientContext> context;
  pb::ModelInferResponse response;
  Clock::time_point sent;
  std::vector<double> latencies_ms;  // of the calls answered OK
  long errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", body_path, model = "heed";
  int port = 0, connections = 1;
  double duration_s = 10, timeout_s = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--host") host = value;
    else if (flag == "--port") port = std::stoi(value);
    else if (flag == "--connections") connections = std::stoi(value);
    else if (flag == "--duration") duration_s = std::stod(value);
    else if (flag == "--timeout") timeout_s = std::stod(value);
    else if (flag == "--body") body_path = value;
    else if (flag == "--model") model = value;
    else {
      std::fprintf(stderr, "grpc_load: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (port <= 0 || connections <= 0 || body_path.empty()) {
    std::fprintf(stderr,
                 "usage: grpc_load --port P --body infer.json [--connections C] [--duration S] "
                 "[--timeout S] [--model NAME] [--host H]\n");
    return 2;
  }
  std::ifstream in(body_path);
  std::stringstream text;
  text << in.rdbuf();
  const pb::ModelInferRequest request = request_of(Json::parse(text.str()), model);

  std::vector<Slot> slots(static_cast<std::size_t>(connections));
  for (std::size_t i = 0; i < slots.size(); ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a TCP connection per channel
    slots[i].stub = pb::GRPCInferenceService::NewStub(grpc::CreateCustomChannel(
        host + ":" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
  }

  std::mutex mutex;
  std::condition_variable done;
  int running = connections;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s));
  // Starts slot i's next call, or retires the slot once the time is up. Each slot's calls run
  // one after another, so its fields are touched by one callback at a time.
  std::function<void(std::size_t)> send = [&](std::size_t i) {
    Slot& slot = slots[i];
    if (Clock::now() >= end) {
      std::lock_guard<std::mutex> lock(mutex);
      if (--running == 0) done.notify_all();
      return;
    }
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() +
                               std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   std::chrono::duration<double>(timeout_s)));
    slot.response.Clear();
    slot.sent = Clock::now();
    slot.stub->async()->ModelInfer(slot.context.get(), &request, &slot.response,
                                   [&, i](grpc::Status status) {
                                     Slot& s = slots[i];
                                     if (status.ok())
                                       s.latencies_ms.push_back(
                                           std::chrono::duration<double, std::milli>(
                                               Clock::now() - s.sent)
                                               .count());
                                     else
                                       ++s.errors;
                                     send(i);
                                   });
  };
  for (std::size_t i = 0; i < slots.size(); ++i) send(i);
  {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return running == 0; });
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  long errors = 0;
  for (const Slot& s : slots) {
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    errors += s.errors;
  }
  std::sort(all.begin(), all.end());
  auto percentile = [&](double p) {
    if (all.empty()) return 0.0;
    const auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(all.size() - 1) + 0.5);
    return all[std::min(k, all.size() - 1)];
  };
  const long requests = static_cast<long>(all.size()) + errors;
  std::printf("p50_ms=%.3f p99_ms=%.3f requests_per_s=%.1f requests=%ld errors=%ld\n",
              percentile(50), percentile(99), static_cast<double>(requests) / elapsed, requests,
              errors);
  return 0;
}
