// heed's side of the PyTorch comparison (bench/compare.py, docs/performance.md): what
// `heed train`'s metrics.json does not say, measured with the library's own code on a trained
// model.
//
//   heed_bench --model RUN/model --data DIR --threads 2 [--parse train.tsv]
//   heed_bench --gemm-only --threads 2
//   heed_bench --model RUN/model --data DIR --serving-only [--repeats N]
//   heed_bench --memory-rows 1000000 [--memory-dim 16]   memory per million embedding rows
//   --precision fp32|bf16|int8 scores in that precision (default: the model's scoring.precision)
//
// prints one JSON object:
//   parse_seconds      load_dataset() of the training file: reading, splitting, hashing every
//                      value (what `heed train` does before its first epoch)
//   inference          score_dataset() over DIR/<test file>, eval.batch_size rows at a time
//   latency_ms         per request of --candidates consecutive rows of DIR/requests.tsv (one
//                      user's features and history, that many candidate movies): resolving the
//                      keys to rows (BatchBuilder) and the forward pass, the rows split over
//                      the threads as training splits a batch; p50 / p99 over --repeats ("cpu":
//                      the thread's CPU time, with --threads 1)
//   serving_latency_ms the same requests through `heed serve`'s scorer on one thread
//                      (serve::RequestScorer: the user's features, history and first-layer
//                      share once per request): "score" the scorer alone, "request" with the
//                      request's fields encoded (what the server does after parsing JSON);
//                      max_abs_diff is the largest difference to the plain path's scores;
//                      "score_cpu" is the scorer's thread CPU time (for loaded machines);
//                      "precision", its kernels ("isa") and, in bf16/int8, the reduced
//                      products' multiply-adds per request
// or, with --gemm-only, only
//   heed_gemm_gflops   C = A B on 1024 x 1024 floats through heed::gemm (OpenBLAS, one thread
//                      per product, as heed calls it), best of 10: "1" one product, "N" N
//                      products at once on N threads
#include <omp.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "config/options.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/lowp.h"
#include "core/sigmoid.h"
#include "data/dataset_loader.h"
#include "embedding/batch_builder.h"
#include "embedding/embedding_table.h"
#include "eval/evaluation.h"
#include "model/scorer.h"
#include "optim/row_optimizer.h"
#include "serve/request_scorer.h"
#include "serve/score_request.h"
#include "serve/served_model.h"

namespace {

using Clock = std::chrono::steady_clock;
using heed::Index;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time of this thread: on a loaded machine, what a request costs when it is not waiting for
// a core (wall-clock percentiles there measure the other processes as much as heed).
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double at = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// GFLOP/s of `threads` concurrent 1024^3 single-precision products (best of `repeats`).
double heed_gemm_gflops(int threads, int repeats) {
  constexpr Index n = 1024;
  std::vector<heed::Matrix> a, b, c;
  for (int t = 0; t < threads; ++t) {
    a.push_back(heed::Matrix::Random(n, n));
    b.push_back(heed::Matrix::Random(n, n));
    c.push_back(heed::Matrix::Zero(n, n));
  }
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    {
      const auto t = static_cast<std::size_t>(omp_get_thread_num());
      heed::gemm(a[t], b[t], c[t], {.beta = 0.0f});
    }
    best = std::min(best, seconds_since(t0));
  }
  return threads * 2.0 * n * n * n / best / 1e9;
}

struct Args {
  std::string model, data, parse, requests = "requests.tsv";
  int threads = 1, candidates = 100, repeats = 500;
  bool gemm_only = false;
  bool serving_only = false;
  std::string precision;  // --precision: empty for the model's scoring.precision
  long memory_rows = 0;  // --memory-rows N: memory of tables of N rows, then exit
  int memory_dim = 16;  // only serving_latency_ms (quick, and for callgrind)
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw heed::Error(fmt::format("{} needs a value", k));
      return argv[++i];
    };
    if (k == "--model") a.model = value();
    else if (k == "--data") a.data = value();
    else if (k == "--parse") a.parse = value();
    else if (k == "--requests") a.requests = value();
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--candidates") a.candidates = std::stoi(value());
    else if (k == "--repeats") a.repeats = std::stoi(value());
    else if (k == "--gemm-only") a.gemm_only = true;
    else if (k == "--serving-only") a.serving_only = true;
    else if (k == "--memory-rows") a.memory_rows = std::stol(value());
    else if (k == "--memory-dim") a.memory_dim = std::stoi(value());
    else if (k == "--precision") a.precision = value();
    else throw heed::Error(fmt::format("unknown option {} (--model --data --threads --parse --requests "
                                       "--candidates --repeats --gemm-only --serving-only --memory-rows --memory-dim --precision)", k));
  }
  if (!a.gemm_only && a.memory_rows == 0 && (a.model.empty() || a.data.empty())) throw heed::Error("heed_bench needs --model RUN/model and --data DIR");
  return a;
}

// Scores every block of `candidates` rows of `requests` as one request; returns ms per request.
// cpu_ms: the calling thread's CPU time per request (the whole cost with one thread).
std::vector<double> request_latencies(heed::Model& model, const heed::Dataset& requests, const Args& args,
                                      std::vector<double>& cpu_ms) {
  const int threads = args.threads;
  const auto n = static_cast<std::size_t>(args.candidates);
  const std::size_t count = requests.rows / n;
  if (count == 0) throw heed::Error(fmt::format("the request file has fewer than {} rows", n));
  heed::BatchBuilder builder(model.schema(), model.config().embedding);
  std::vector<std::unique_ptr<heed::Model::Workspace>> workspaces;
  const Index per_thread = static_cast<Index>((n + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) workspaces.push_back(model.make_workspace(per_thread));
  heed::Batch batch;
  std::vector<std::size_t> rows(n);
  std::vector<float> scores(n);
  auto score = [&](std::size_t r) {
    std::iota(rows.begin(), rows.end(), r * n);
    builder.build(requests, rows, /*training=*/false, nullptr, model.tables(), model.normalizer(), batch);
    const auto B = static_cast<Index>(n);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      heed::Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
      const Index begin = B * t / threads, stop = B * (t + 1) / threads;
      if (stop > begin) {
        model.forward(batch, begin, stop - begin, ws, /*training=*/false);
        for (Index i = begin; i < stop; ++i) scores[static_cast<std::size_t>(i)] = heed::sigmoid(ws.logits()(i - begin, 0));
      }
    }
  };
  for (std::size_t r = 0; r < std::min<std::size_t>(count, 20); ++r) score(r);  // warm up
  std::vector<double> ms;
  cpu_ms.clear();
  for (int i = 0; i < args.repeats; ++i) {
    const double cpu0 = thread_cpu_seconds();
    const auto t0 = Clock::now();
    score(static_cast<std::size_t>(i) % count);
    ms.push_back(seconds_since(t0) * 1e3);
    cpu_ms.push_back((thread_cpu_seconds() - cpu0) * 1e3);
  }
  return ms;
}

// The requests of `path` (blocks of `candidates` rows) as the server receives them: a field whose
// value is the same in every row of the block is the user's, the others are per candidate.
std::vector<heed::serve::ScoreRequest> read_score_requests(const std::filesystem::path& path,
                                                           const heed::serve::ServedModel& served,
                                                           std::size_t candidates) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::size_t at = 0;
    for (;;) {
      const std::size_t tab = text.find('\t', at);
      cells.push_back(text.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) return cells;
      at = tab + 1;
    }
  };
  const std::vector<std::string> header = split(line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) rows.push_back(split(line));
  std::vector<heed::serve::ScoreRequest> out;
  for (std::size_t begin = 0; begin + candidates <= rows.size(); begin += candidates) {
    heed::serve::ScoreRequest request;
    request.user.resize(served.fields().size());
    request.candidates.assign(candidates, std::vector<std::optional<heed::serve::RawValue>>(served.fields().size()));
    for (std::size_t c = 0; c < header.size(); ++c) {
      const int field = served.field_index(header[c]);
      if (field < 0) continue;
      bool same = true;
      for (std::size_t r = begin; r < begin + candidates; ++r) same = same && rows[r][c] == rows[begin][c];
      auto value = [](const std::string& text) {
        heed::serve::RawValue v;
        v.text = text;
        return v;
      };
      if (same) {
        request.user[static_cast<std::size_t>(field)] = value(rows[begin][c]);
      } else {
        for (std::size_t r = 0; r < candidates; ++r)
          request.candidates[r][static_cast<std::size_t>(field)] = value(rows[begin + r][c]);
      }
    }
    out.push_back(std::move(request));
  }
  if (out.empty()) throw heed::Error(fmt::format("{} has fewer than {} rows", path.string(), candidates));
  return out;
}

nlohmann::ordered_json serving_latencies(const Args& args, const std::filesystem::path& requests_path) {
  const auto served = heed::serve::ServedModel::load(args.model, args.precision);
  const auto requests = read_score_requests(requests_path, *served, static_cast<std::size_t>(args.candidates));
  std::vector<heed::serve::EncodedRequest> encoded;
  for (const auto& r : requests) encoded.push_back(heed::serve::encode_request(r, *served));
  heed::serve::RequestScorer scorer(served->model());
  double max_diff = 0;
  std::uint64_t reduced_multiply_adds = 0;
  for (std::size_t r = 0; r < std::min<std::size_t>(requests.size(), 20); ++r) {  // warm up, and check
    const std::vector<float> fast = scorer.score(encoded[r]);
    const std::vector<float> plain = heed::serve::score_plain(requests[r], *served);
    for (std::size_t i = 0; i < fast.size(); ++i)
      max_diff = std::max(max_diff, static_cast<double>(std::abs(fast[i] - plain[i])));
  }
  std::vector<double> score_ms, request_ms, cpu_ms;
  const std::uint64_t multiply_adds_before = heed::lowp::multiply_adds();
  for (int i = 0; i < args.repeats; ++i) {
    const std::size_t r = static_cast<std::size_t>(i) % requests.size();
    const double cpu0 = thread_cpu_seconds();
    auto t0 = Clock::now();
    scorer.score(encoded[r]);
    score_ms.push_back(seconds_since(t0) * 1e3);
    cpu_ms.push_back((thread_cpu_seconds() - cpu0) * 1e3);
    if (i == 0) reduced_multiply_adds = heed::lowp::multiply_adds() - multiply_adds_before;
    t0 = Clock::now();
    scorer.score(heed::serve::encode_request(requests[r], *served));
    request_ms.push_back(seconds_since(t0) * 1e3);
  }
  auto summary = [&](const std::vector<double>& ms) {
    return nlohmann::ordered_json{{"p50", percentile(ms, 50)}, {"p99", percentile(ms, 99)},
                                  {"mean", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())}};
  };
  const heed::Precision precision = served->model().precision();
  nlohmann::ordered_json out = {{"score", summary(score_ms)}, {"score_cpu", summary(cpu_ms)}, {"request", summary(request_ms)}, {"requests", score_ms.size()},
          {"candidates", args.candidates}, {"threads", 1}, {"max_abs_diff", max_diff},
          {"precision", heed::choice_name(precision)}};
  if (precision != heed::Precision::kFp32) {
    out["isa"] = heed::lowp::isa_name(precision);
    out["reduced_multiply_adds_first_request"] = reduced_multiply_adds;
  }
  return out;
}

// Resident memory of this process, bytes (from /proc/self/statm).
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Memory per million embedding rows of `dim` floats, and in training the row optimizer's state
// beside them: Adam's (2 slots: first and second moments) or row-wise Adagrad's (1 slot), with
// a table filled with `rows` keys and every row updated once. Reported: the process's
// resident-memory growth for the table alone (what serving holds: weights, keys, key index)
// and with the optimizer state (what training holds), and the payload counts.
nlohmann::ordered_json embedding_memory(long rows, int dim) {
  nlohmann::ordered_json out;
  out["rows"] = rows;
  out["dim"] = dim;
  const double per_million = 1e6 / static_cast<double>(rows);
  for (const auto& [name, kind] : {std::pair<const char*, heed::EmbeddingOptimizer>{"adam", heed::EmbeddingOptimizer::kAdam},
                                   {"adagrad", heed::EmbeddingOptimizer::kAdagrad}}) {
    const double before = resident_bytes();
    auto table = std::make_unique<heed::EmbeddingTable>("t", static_cast<std::size_t>(dim), 0, 0.05f, 1);
    for (long k = 0; k < rows; ++k) table->find_or_insert(heed::mix64(static_cast<std::uint64_t>(k) + 1));
    const double table_rss = resident_bytes() - before;
    heed::OptimizerConfig config = heed::default_config().optimizer;
    config.embedding = kind;
    heed::RowOptimizer optimizer(config, 1);
    {
      const std::vector<std::uint32_t> last_row = {static_cast<std::uint32_t>(table->rows() - 1)};
      const std::vector<float> grad(static_cast<std::size_t>(dim), 0.0f);
      optimizer.update(0, *table, last_row, grad.data(), 1, 1);  // sizes the state for every row
    }
    const double training_rss = resident_bytes() - before;
    out[name] = {{"state_slots", optimizer.slots()},
                 {"serving_resident_mib_per_million_rows", table_rss * per_million / (1 << 20)},
                 {"training_resident_mib_per_million_rows", training_rss * per_million / (1 << 20)},
                 {"weights_mib_per_million_rows", static_cast<double>(table->memory_bytes()) * per_million / (1 << 20)},
                 {"state_mib_per_million_rows", static_cast<double>(optimizer.memory_bytes()) * per_million / (1 << 20)},
                 {"payload_bytes_per_row", (1 + optimizer.slots()) * static_cast<std::size_t>(dim) * sizeof(float)}};
  }
  return out;
}

int run(const Args& args) {
  if (args.memory_rows > 0) {
    std::printf("%s\n", embedding_memory(args.memory_rows, args.memory_dim).dump(2).c_str());
    return 0;
  }
  if (args.gemm_only) {
    nlohmann::ordered_json out;
    out["heed_gemm_gflops"]["1"] = heed_gemm_gflops(1, 10);
    if (args.threads > 1) out["heed_gemm_gflops"][std::to_string(args.threads)] = heed_gemm_gflops(args.threads, 10);
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (args.serving_only) {
    nlohmann::ordered_json out;
    out["serving_latency_ms"] = serving_latencies(args, std::filesystem::path(args.data) / args.requests);
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  heed::Checkpoint cp = heed::load_checkpoint(args.model);
  heed::Model& model = *cp.model;
  model.set_precision(heed::scoring_precision(model.config(), args.precision));
  const heed::Config& config = model.config();
  const std::filesystem::path dir = args.data;
  nlohmann::ordered_json out;
  out["engine"] = "heed";
  out["threads"] = args.threads;

  if (!args.parse.empty()) {
    const auto t0 = Clock::now();
    const heed::Dataset train = heed::load_dataset(dir / args.parse, config, model.schema());
    out["parse_seconds"] = seconds_since(t0);
    out["parse_rows"] = train.rows;
  }

  const heed::Dataset test = heed::load_dataset(dir / config.data.test, config, model.schema());
  heed::score_dataset(model, test, args.threads);  // warm up
  auto t0 = Clock::now();
  const std::vector<float> scores = heed::score_dataset(model, test, args.threads);
  const double infer = seconds_since(t0);
  const heed::Evaluation e = heed::evaluate_scores(scores, test);
  out["test"] = heed::metrics_json(e.overall);
  out["inference_batch"] = config.eval.batch_size;
  out["inference_samples_per_second"] = static_cast<double>(test.rows) / infer;

  const std::filesystem::path requests_path = dir / args.requests;
  if (std::filesystem::exists(requests_path)) {
    const heed::Dataset requests = heed::load_dataset(requests_path, config, model.schema());
    std::vector<double> cpu_ms;
    const std::vector<double> ms = request_latencies(model, requests, args, cpu_ms);
    out["latency_ms"] = {{"p50", percentile(ms, 50)},
                         {"p99", percentile(ms, 99)},
                         {"mean", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())},
                         {"requests", ms.size()},
                         {"candidates", args.candidates}};
    if (args.threads == 1)
      out["latency_ms"]["cpu"] = {{"p50", percentile(cpu_ms, 50)}, {"p99", percentile(cpu_ms, 99)}};
    out["serving_latency_ms"] = serving_latencies(args, requests_path);
  }

  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heed_bench: %s\n", e.what());
    return 1;
  }
}
