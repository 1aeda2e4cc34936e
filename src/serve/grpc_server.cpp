#include "serve/grpc_server.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "serve/inference.grpc.pb.h"
#include "serve/inference_protocol.h"
#include "serve/request_error.h"

namespace heed::serve {
namespace {

using Json = nlohmann::json;
namespace pb = ::inference;

// The gRPC status of a refusal the HTTP routes answer with `http_status`.
grpc::StatusCode code_of(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 409:
    case 422: return grpc::StatusCode::FAILED_PRECONDITION;
    case 413: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    default: return grpc::StatusCode::INTERNAL;
  }
}

// Bytes per element of a numeric datatype, as raw_input_contents packs it.
std::size_t width_of(const std::string& datatype) {
  if (datatype == "INT8" || datatype == "UINT8") return 1;
  if (datatype == "INT16" || datatype == "UINT16") return 2;
  if (datatype == "INT32" || datatype == "UINT32" || datatype == "FP32") return 4;
  return 8;  // INT64, UINT64, FP64
}

template <class T>
T read_little_endian(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof value);  // x86-64 and AArch64 Linux are little-endian
  return value;
}

// The elements of one numeric raw_input_contents entry as JSON numbers.
Json raw_numbers(const std::string& raw, const std::string& datatype, const std::string& where) {
  const std::size_t width = width_of(datatype);
  if (raw.size() % width != 0)
    throw RequestError(400, "wrong_type",
                       fmt::format("{}: raw contents of {} bytes are not whole {}-byte {} "
                                   "elements",
                                   where, raw.size(), width, datatype));
  Json data = Json::array();
  data.get_ref<Json::array_t&>().reserve(raw.size() / width);
  for (std::size_t at = 0; at < raw.size(); at += width) {
    const char* p = raw.data() + at;
    if (datatype == "INT8") data.push_back(read_little_endian<std::int8_t>(p));
    else if (datatype == "INT16") data.push_back(read_little_endian<std::int16_t>(p));
    else if (datatype == "INT32") data.push_back(read_little_endian<std::int32_t>(p));
    else if (datatype == "INT64") data.push_back(read_little_endian<std::int64_t>(p));
    else if (datatype == "UINT8") data.push_back(read_little_endian<std::uint8_t>(p));
    else if (datatype == "UINT16") data.push_back(read_little_endian<std::uint16_t>(p));
    else if (datatype == "UINT32") data.push_back(read_little_endian<std::uint32_t>(p));
    else if (datatype == "UINT64") data.push_back(read_little_endian<std::uint64_t>(p));
    else if (datatype == "FP32") data.push_back(static_cast<double>(read_little_endian<float>(p)));
    else data.push_back(read_little_endian<double>(p));
  }
  return data;
}

// The elements of one BYTES raw_input_contents entry: each a 4-byte little-endian length, then
// its bytes.
Json raw_strings(const std::string& raw, const std::string& where) {
  Json data = Json::array();
  std::size_t at = 0;
  while (at < raw.size()) {
    if (raw.size() - at < 4)
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: raw BYTES contents end inside an element's 4-byte "
                                     "length (at byte {})",
                                     where, at));
    const std::uint32_t length = read_little_endian<std::uint32_t>(raw.data() + at);
    at += 4;
    if (raw.size() - at < length)
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: a raw BYTES element announces {} bytes, {} are left",
                                     where, length, raw.size() - at));
    data.push_back(raw.substr(at, length));
    at += length;
  }
  return data;
}

// The contents fields that hold elements, by name, for a message about a mismatch.
std::string filled_contents(const pb::InferTensorContents& c) {
  std::string out;
  auto add = [&](int n, const char* name) {
    if (n > 0) out += (out.empty() ? "" : ", ") + std::string(name);
  };
  add(c.bool_contents_size(), "bool_contents");
  add(c.int_contents_size(), "int_contents");
  add(c.int64_contents_size(), "int64_contents");
  add(c.uint_contents_size(), "uint_contents");
  add(c.uint64_contents_size(), "uint64_contents");
  add(c.fp32_contents_size(), "fp32_contents");
  add(c.fp64_contents_size(), "fp64_contents");
  add(c.bytes_contents_size(), "bytes_contents");
  return out;
}

// The elements of a typed contents message, from the field its datatype uses.
Json typed_elements(const pb::InferTensorContents& c, const std::string& datatype,
                    const std::string& where) {
  Json data = Json::array();
  auto take = [&](const auto& values, const char* field) {
    if (values.empty() && !filled_contents(c).empty())
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: a {} tensor's elements go in contents.{}, this one "
                                     "holds {}",
                                     where, datatype, field, filled_contents(c)));
    data.get_ref<Json::array_t&>().reserve(static_cast<std::size_t>(values.size()));
    for (const auto& v : values) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, float>)
        data.push_back(static_cast<double>(v));
      else
        data.push_back(v);
    }
  };
  if (datatype == "BYTES") take(c.bytes_contents(), "bytes_contents");
  else if (datatype == "INT8" || datatype == "INT16" || datatype == "INT32")
    take(c.int_contents(), "int_contents");
  else if (datatype == "INT64") take(c.int64_contents(), "int64_contents");
  else if (datatype == "UINT8" || datatype == "UINT16" || datatype == "UINT32")
    take(c.uint_contents(), "uint_contents");
  else if (datatype == "UINT64") take(c.uint64_contents(), "uint64_contents");
  else if (datatype == "FP32") take(c.fp32_contents(), "fp32_contents");
  else if (datatype == "FP64") take(c.fp64_contents(), "fp64_contents");
  // Any other datatype: no elements; the decoder refuses the datatype by name.
  return data;
}

// A ModelInfer request's inputs as the tensors the shared decoder reads. Only the encoding is
// read here; every check of meaning is the decoder's.
std::vector<InferTensor> tensors_of(const pb::ModelInferRequest& request) {
  const int n = request.inputs_size();
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != n)
    throw RequestError(400, "wrong_type",
                       fmt::format("raw_input_contents holds {} entries for {} inputs (one per "
                                   "input, in order)",
                                   request.raw_input_contents_size(), n));
  std::vector<InferTensor> tensors(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    const pb::ModelInferRequest::InferInputTensor& in = request.inputs(k);
    InferTensor& t = tensors[static_cast<std::size_t>(k)];
    t.name = in.name();
    t.datatype = in.datatype();
    t.shape.assign(in.shape().begin(), in.shape().end());
    const std::string where = fmt::format("inputs[{}] ({})", k, in.name());
    if (!raw) {
      t.data = typed_elements(in.contents(), t.datatype, where);
    } else if (!filled_contents(in.contents()).empty()) {
      throw RequestError(400, "wrong_type",
                         fmt::format("{}: elements in both contents and raw_input_contents",
                                     where));
    } else if (t.datatype == "BYTES") {
      t.data = raw_strings(request.raw_input_contents(k), where);
    } else if (numeric_datatype(t.datatype)) {
      t.data = raw_numbers(request.raw_input_contents(k), t.datatype, where);
    }
  }
  return tensors;
}

auto seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// The service's calls. The cheap ones answer on gRPC's thread; ModelInfer is decoded and scored
// on a scoring thread, which finishes the call.
class GrpcServer::Service final : public pb::GRPCInferenceService::CallbackService {
 public:
  explicit Service(ServingState state) : s_(std::move(state)) {}
  const ServerOptions& options() const { return s_.options; }

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const pb::ServerLiveRequest*,
                                       pb::ServerLiveResponse* response) override {
    return answer(context, "ServerLive", [&] { response->set_live(true); });
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const pb::ServerReadyRequest*,
                                        pb::ServerReadyResponse* response) override {
    return answer(context, "ServerReady", [&] { response->set_ready(true); });
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const pb::ModelReadyRequest* request,
                                       pb::ModelReadyResponse* response) override {
    return answer(context, "ModelReady", [&] {
      check_model(request->name(), request->version(), *s_.model());
      response->set_ready(true);
    });
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const pb::ServerMetadataRequest*,
                                           pb::ServerMetadataResponse* response) override {
    return answer(context, "ServerMetadata", [&] {
      response->set_name("heed");
      response->set_version(HEED_VERSION);
    });
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const pb::ModelMetadataRequest* request,
                                          pb::ModelMetadataResponse* response) override {
    return answer(context, "ModelMetadata", [&] {
      const std::shared_ptr<const ServedModel> m = s_.model();
      check_model(request->name(), request->version(), *m);
      response->set_name(s_.options.model_name);
      response->add_versions(m->version());
      response->set_platform("heed");
      for (const RequestField& field : m->fields()) {
        pb::ModelMetadataResponse::TensorMetadata* input = response->add_inputs();
        input->set_name(field.name);
        input->set_datatype(tensor_datatype(*m, field));
        input->add_shape(-1);
      }
      pb::ModelMetadataResponse::TensorMetadata* output = response->add_outputs();
      output->set_name("score");
      output->set_datatype("FP32");
      output->add_shape(-1);
    });
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const pb::ModelInferRequest* request,
                                       pb::ModelInferResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const auto started = std::chrono::steady_clock::now();
    ++s_.metrics.in_flight();
    // The request, the answer and the reactor stay valid until Finish.
    auto job = [this, reactor, request, response, started] {
      const grpc::Status status = run(kInferPath, [&] { infer(*request, *response); });
      end(kInferPath, started, status, reactor);
    };
    if (!s_.pool.try_submit(std::move(job))) {
      const grpc::Status status = refuse(
          503, "overloaded",
          fmt::format("every scoring thread is busy and {} requests wait (--max-queue); retry "
                      "later",
                      s_.options.max_queue));
      end(kInferPath, started, status, reactor);
    }
    return reactor;
  }

 private:
  static std::string path_of(const char* method) {
    return std::string("/inference.GRPCInferenceService/") + method;
  }

  // Refuses a call: counted under its kind, as the HTTP routes count theirs.
  grpc::Status refuse(int http_status, const std::string& kind, const std::string& message) {
    s_.metrics.count_error(kind);
    return grpc::Status(code_of(http_status), kind + ": " + message);
  }

  // Runs `work`, turning what it throws into the call's status.
  template <class Work>
  grpc::Status run(const std::string& path, Work&& work) {
    try {
      work();
      return grpc::Status::OK;
    } catch (const RequestError& e) {
      return refuse(e.status(), e.kind(), e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "heed serve: internal error on %s: %s\n", path.c_str(), e.what());
      return refuse(500, "internal", e.what());
    }
  }

  // Counts and times a call as /metrics counts HTTP requests (status: the HTTP status the
  // same answer has there), then finishes it.
  void end(const std::string& path, std::chrono::steady_clock::time_point started,
           const grpc::Status& status, grpc::ServerUnaryReactor* reactor) {
    --s_.metrics.in_flight();
    s_.metrics.observe(path, seconds_since(started));
    s_.metrics.count_request(path, http_status_of(status));
    reactor->Finish(status);
  }

  static int http_status_of(const grpc::Status& status) {
    switch (status.error_code()) {
      case grpc::StatusCode::OK: return 200;
      case grpc::StatusCode::INVALID_ARGUMENT: return 400;
      case grpc::StatusCode::PERMISSION_DENIED: return 403;
      case grpc::StatusCode::NOT_FOUND: return 404;
      case grpc::StatusCode::FAILED_PRECONDITION: return 409;
      case grpc::StatusCode::RESOURCE_EXHAUSTED: return 413;
      case grpc::StatusCode::UNAVAILABLE: return 503;
      default: return 500;
    }
  }

  // A cheap call, answered on gRPC's thread.
  template <class Work>
  grpc::ServerUnaryReactor* answer(grpc::CallbackServerContext* context, const char* method,
                                   Work&& work) {
    const auto started = std::chrono::steady_clock::now();
    ++s_.metrics.in_flight();
    const std::string path = path_of(method);
    const grpc::Status status = run(path, work);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    end(path, started, status, reactor);
    return reactor;
  }

  void check_model(const std::string& name, const std::string& version,
                   const ServedModel& m) const {
    if (name != s_.options.model_name)
      throw RequestError(404, "model_not_found",
                         fmt::format("no model '{}' (this server serves '{}')", name,
                                     s_.options.model_name));
    if (!version.empty() && version != m.version())
      throw RequestError(404, "model_not_found",
                         fmt::format("model '{}' has no version '{}' (it serves {})", name,
                                     version, m.version()));
  }

  // ModelInfer on a scoring thread: the same decoder and scoring path as the HTTP route.
  void infer(const pb::ModelInferRequest& request, pb::ModelInferResponse& response) {
    const std::shared_ptr<const ServedModel> m = s_.model();  // kept to the end, whatever reloads
    check_model(request.model_name(), request.model_version(), *m);
    for (const auto& wanted : request.outputs())
      if (wanted.name() != "score")
        throw RequestError(400, "unknown_output",
                           fmt::format("no output '{}' (the model answers 'score')",
                                       wanted.name()));
    const InferRequest infer =
        decode_infer_tensors(request.id(), tensors_of(request), *m, s_.options.limits);
    const std::vector<float> scores = score_infer(infer, *m);
    s_.metrics.add_candidates(scores.size());
    response.set_model_name(s_.options.model_name);
    response.set_model_version(m->version());
    response.set_id(infer.id);
    pb::ModelInferResponse::InferOutputTensor* out = response.add_outputs();
    out->set_name("score");
    out->set_datatype("FP32");
    out->add_shape(static_cast<std::int64_t>(scores.size()));
    // The answer's encoding follows the request's: a client that packs its inputs raw (as
    // Triton's clients do) reads raw outputs.
    if (request.raw_input_contents_size() > 0) {
      response.add_raw_output_contents(std::string(reinterpret_cast<const char*>(scores.data()),
                                                   scores.size() * sizeof(float)));
    } else {
      out->mutable_contents()->mutable_fp32_contents()->Add(scores.begin(), scores.end());
    }
  }

  ServingState s_;
};

struct GrpcServer::Running {
  std::unique_ptr<grpc::Server> server;
  std::mutex mutex;
  bool shut_down = false;
};

GrpcServer::GrpcServer(ServingState state)
    : service_(std::make_unique<Service>(std::move(state))),
      running_(std::make_unique<Running>()) {}

GrpcServer::~GrpcServer() {
  shutdown(0.0);
}

int GrpcServer::start(const std::string& host, int port) {
  // An IPv6 address takes brackets before its port.
  const std::string address = host.find(':') == std::string::npos
                                  ? fmt::format("{}:{}", host, port)
                                  : fmt::format("[{}]:{}", host, port);
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(service_.get());
  // gRPC sets SO_REUSEPORT by default, which would let a second server share the port and
  // split the traffic between two models; a taken port must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // --max-body-bytes bounds a call's message as it bounds an HTTP body: beyond it gRPC answers
  // RESOURCE_EXHAUSTED before the message is decoded.
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<std::size_t>(service_->options().max_body_bytes, std::size_t{1} << 30)));
  running_->server = builder.BuildAndStart();
  if (!running_->server || bound == 0) {
    running_->server.reset();
    throw Error(fmt::format("cannot listen for gRPC on {}: the port is taken or the address is "
                            "not this machine's (stop the other process or pick another port "
                            "with --grpc-port)",
                            address));
  }
  return bound;
}

void GrpcServer::shutdown(double drain_timeout_s) {
  std::lock_guard<std::mutex> lock(running_->mutex);
  if (running_->shut_down || !running_->server) return;
  running_->shut_down = true;
  running_->server->Shutdown(std::chrono::system_clock::now() +
                             std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                 std::chrono::duration<double>(drain_timeout_s)));
}

}  // namespace heed::serve
