-- wrk script for bench/serve_bench.sh: POSTs the body in $BODY_FILE and prints one summary line.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
                 summary.errors.timeout
  io.write(string.format("p50_ms=%.3f p99_ms=%.3f requests_per_s=%.1f requests=%d errors=%d\n",
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
