#!/usr/bin/python3
"""heed vs PyTorch on the same model and the same data (docs/performance.md).

    bench/compare_torch.sh [--rows 1000000] [--epochs 1] [--threads 1,2] [--variants dnn,senet,din,full]
                           [--out results.json]

(compare_torch.sh installs what is missing, builds heed with the bench programs, and runs this
file with the OpenMP build of OpenBLAS for torch.) Per variant of bench/configs/variants.toml
and per thread count it trains both engines on bench/gen_data.py's data for the same epochs,
then measures inference and request latency, and prints Markdown tables; --out writes every
number as JSON.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_spec  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

GEMM_SCRIPT = r"""
import json, sys, time
import numpy as np
import torch

def best(f, repeats=10):
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)

n = 1024
a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
torch.set_num_threads(int(sys.argv[1]))
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
print(json.dumps({"numpy": 2 * n ** 3 / best(lambda: a @ b) / 1e9,
                  "torch": 2 * n ** 3 / best(lambda: ta @ tb) / 1e9}))
"""


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def thread_env(threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    if os.path.isdir(OPENBLAS_OPENMP):
        paths = [OPENBLAS_OPENMP] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        env["LD_LIBRARY_PATH"] = ":".join(dict.fromkeys(paths))
    return env


def run(cmd, env=None, capture=True, label=None):
    log(label or " ".join(cmd))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, text=True, capture_output=capture)
    if p.returncode != 0:
        sys.stderr.write((p.stdout or "") + (p.stderr or ""))
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return p.stdout, time.perf_counter() - t0


def ensure_data(folder, rows, seed):
    info_path = os.path.join(folder, "data.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        # Older folders lack the layout keys; their defaults are the layout the comparison reads.
        default_layout = (info.get("max_history", 50) == 50 and info.get("max_earlier_clicks", 120) == 120
                          and info.get("extra_fields", 0) == 0)
        if (info.get("rows") == rows and info.get("seed") == seed and default_layout
                and os.path.exists(os.path.join(folder, "requests.tsv"))):
            log(f"reusing {folder}")
            return info
    run([sys.executable, os.path.join(BENCH, "gen_data.py"), "--out", folder, "--rows", str(rows), "--seed", str(seed)])
    with open(info_path) as f:
        return json.load(f)


def gemm_rates(threads, heed_bench_gemm):
    """Measured 1024^3 sgemm GFLOP/s per thread count: numpy (OpenBLAS), torch.mm, heed::gemm."""
    out = {}
    for t in threads:
        text, _ = run([sys.executable, "-c", GEMM_SCRIPT, str(t)], env=thread_env(t),
                      label=f"sgemm 1024^3 with numpy and torch.mm on {t} thread(s)")
        rates = json.loads(text)
        heed = heed_bench_gemm.get(str(t))
        if heed is not None:
            rates["heed"] = heed
        out[str(t)] = rates
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows generated (90%% train, 10%% test)")
    parser.add_argument("--seed", type=int, default=1, help="data seed")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    parser.add_argument("--variants", default="dnn,senet,din,full", help="of bench/configs/variants.toml")
    parser.add_argument("--data", help="data folder (default: bench-data/ROWS under the repository)")
    parser.add_argument("--work", help="run folders (default: bench-runs/ROWS under the repository)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder with heed and heed_bench")
    parser.add_argument("--config", default=os.path.join(BENCH, "configs", "reference.toml"))
    parser.add_argument("--latency-repeats", type=int, default=500)
    parser.add_argument("--out", help="write every number here as JSON")
    parser.add_argument("--table", metavar="RESULTS_JSON", help="only print the tables of an earlier --out file")
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            print(markdown(json.load(f)))
        return

    threads = [int(t) for t in args.threads.split(",")]
    with open(os.path.join(BENCH, "configs", "variants.toml"), "rb") as f:
        all_variants = tomllib.load(f)
    variants = args.variants.split(",")
    for v in variants:
        if v not in all_variants:
            raise SystemExit(f"unknown variant {v} ({', '.join(all_variants)})")
    heed = os.path.join(args.build, "heed")
    heed_bench = os.path.join(args.build, "heed_bench")
    for exe in (heed, heed_bench):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"{exe} is missing: build with -DHEED_BUILD_BENCH=ON (bench/compare_torch.sh does)")
    data = os.path.abspath(args.data or os.path.join(ROOT, "bench-data", str(args.rows)))
    work = os.path.abspath(args.work or os.path.join(ROOT, "bench-runs", str(args.rows)))
    os.makedirs(work, exist_ok=True)
    info = ensure_data(data, args.rows, args.seed)

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "machine": machine(), "data": info, "epochs": args.epochs, "runs": [],
    }
    try:
        results["heed_commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                                capture_output=True, text=True).stdout.strip()
    except OSError:
        pass

    gemm_text, _ = run([heed_bench, "--gemm-only", "--threads", str(max(threads))])
    results["gemm_gflops"] = gemm_rates(threads, json.loads(gemm_text)["heed_gemm_gflops"])

    specs = {}
    for v in variants:
        overrides = all_variants[v]["set"] + [f"train.epochs={args.epochs}", f"data.dir={data}"]
        resolved = os.path.join(work, f"{v}.toml")
        with open(resolved, "w") as f:
            f.write(model_spec.resolve(heed, args.config, overrides))
        spec = model_spec.load(resolved)
        specs[v] = spec
        flops = model_spec.flops_per_sample(spec, info["mean_history_length"])
        for t in threads:
            r = {"variant": v, "threads": t, "flops_per_sample": flops, "load_average": os.getloadavg()}
            run_dir = os.path.join(work, f"heed-{v}-t{t}")
            _, wall = run([heed, "train", resolved, "--set", f"train.threads={t}", "--out", run_dir], env=thread_env(t))
            with open(os.path.join(run_dir, "metrics.json")) as f:
                metrics = json.load(f)
            bench_text, _ = run([heed_bench, "--model", os.path.join(run_dir, "model"), "--data", data,
                                 "--threads", str(t), "--parse", spec.train_file,
                                 "--repeats", str(args.latency_repeats)], env=thread_env(t))
            hb = json.loads(bench_text)
            train_seconds = sum(h["seconds"] for h in metrics["history"])
            n = metrics["train_rows"] * len(metrics["history"])
            r["heed"] = {
                "train_samples_per_second": n / train_seconds,
                "epoch_samples_per_second": [h["samples_per_second"] for h in metrics["history"]],
                "train_seconds": train_seconds, "parse_seconds": hb["parse_seconds"],
                "train_samples_per_second_with_parsing": n / (train_seconds + hb["parse_seconds"]),
                "train_command_seconds": wall,
                "test": metrics["test"], "inference_samples_per_second": hb["inference_samples_per_second"],
                "inference_batch": hb["inference_batch"], "latency_ms": hb.get("latency_ms"),
                "serving_latency_ms": hb.get("serving_latency_ms"),
                "dense_parameters": metrics["dense_parameters"], "embedding_rows": metrics["embedding_rows"],
            }
            torch_out = os.path.join(work, f"torch-{v}-t{t}.json")
            run([sys.executable, os.path.join(BENCH, "torch_reference.py"), "--config", resolved, "--data", data,
                 "--threads", str(t), "--requests", os.path.join(data, "requests.tsv"),
                 "--latency-repeats", str(args.latency_repeats), "--out", torch_out], env=thread_env(t))
            with open(torch_out) as f:
                r["torch"] = json.load(f)
            results["runs"].append(r)
            log(f"{v} t={t}: heed {r['heed']['train_samples_per_second']:.0f}/s auc {r['heed']['test']['auc']:.4f}; "
                f"torch {r['torch']['train_samples_per_second']:.0f}/s auc {r['torch']['test']['auc']:.4f}")
            if args.out:
                write_json(args.out, results)

    if args.out:
        write_json(args.out, results)
    print(markdown(results))


def write_json(path, results):
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch_version,
            "load_average": os.getloadavg()}


def markdown(results):
    def k(x):
        return f"{x / 1000:.1f}k"

    with open(os.path.join(BENCH, "configs", "variants.toml"), "rb") as f:
        order = list(tomllib.load(f))
    runs = sorted(results["runs"], key=lambda r: (order.index(r["variant"]) if r["variant"] in order else len(order),
                                                   r["threads"]))
    gemm = results["gemm_gflops"]
    lines = []
    m = results["machine"]
    lines.append(f"{results['date']}, {m['cpu']} ({m['cores']} cores, load average at start "
                 f"{', '.join(f'{x:.1f}' for x in m['load_average'])}), torch {m['torch']}, heed {results.get('heed_commit', '?')}, "
                 f"{results['data']['train_rows']:,} train / {results['data']['test_rows']:,} test rows, "
                 f"{results['epochs']} epoch(s). `{results['command']}`")
    lines.append("")
    lines.append("**Training** (samples/s; whole epochs, data in memory; \"with parsing\" adds reading the "
                 "training TSV into each engine's in-memory form) **and test AUC after the same epochs**")
    lines.append("")
    lines.append("| variant | threads | heed | torch | heed / torch | heed with parsing | torch with parsing "
                 "| heed AUC | torch AUC | Δ AUC |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        h, t = r["heed"], r["torch"]
        lines.append(f"| {r['variant']} | {r['threads']} | {k(h['train_samples_per_second'])} | "
                     f"{k(t['train_samples_per_second'])} | "
                     f"{h['train_samples_per_second'] / t['train_samples_per_second']:.2f}x | "
                     f"{k(h['train_samples_per_second_with_parsing'])} | {k(t['train_samples_per_second_with_parsing'])} | "
                     f"{h['test']['auc']:.4f} | {t['test']['auc']:.4f} | {h['test']['auc'] - t['test']['auc']:+.4f} |")
    lines.append("")
    lines.append(f"**Inference** (samples/s at batch {runs[0]['heed']['inference_batch'] if runs else '?'}) "
                 "**and latency** of one request: one user's features and 50-item history with 100 candidate "
                 "movies (ms)")
    lines.append("")
    lines.append("| variant | threads | heed | torch | heed / torch | heed p50 | heed p99 | torch p50 | torch p99 |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        h, t = r["heed"], r["torch"]
        hl, tl = h.get("latency_ms") or {}, t.get("latency_ms") or {}
        lines.append(f"| {r['variant']} | {r['threads']} | {k(h['inference_samples_per_second'])} | "
                     f"{k(t['inference_samples_per_second'])} | "
                     f"{h['inference_samples_per_second'] / t['inference_samples_per_second']:.2f}x | "
                     f"{hl.get('p50', float('nan')):.2f} | {hl.get('p99', float('nan')):.2f} | "
                     f"{tl.get('p50', float('nan')):.2f} | {tl.get('p99', float('nan')):.2f} |")
    serving = [r for r in runs if r["heed"].get("serving_latency_ms")]
    if serving:
        lines.append("")
        lines.append("**Serving latency** of the same requests through `heed serve`'s scorer "
                     "(`serve::RequestScorer`, one thread whatever the run's thread count: the user's features, "
                     "history and first-layer share once per request), ms: the scorer alone (wall clock and this "
                     "thread's CPU time), and with the request's fields encoded; max |Δ| is the largest difference "
                     "to the plain path's scores")
        lines.append("")
        lines.append("| variant | p50 | p99 | CPU p50 | CPU p99 | with encoding p50 | with encoding p99 | max abs Δ |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        seen = set()
        for r in serving:
            if r["variant"] in seen:
                continue
            seen.add(r["variant"])
            s = r["heed"]["serving_latency_ms"]
            cpu = s.get("score_cpu", {})
            lines.append(f"| {r['variant']} | {s['score']['p50']:.3f} | {s['score']['p99']:.3f} | "
                         f"{cpu.get('p50', float('nan')):.3f} | {cpu.get('p99', float('nan')):.3f} | "
                         f"{s['request']['p50']:.3f} | {s['request']['p99']:.3f} | {s['max_abs_diff']:.1e} |")
    lines.append("")
    lines.append("**Measured fp32 GEMM rate** (1024×1024×1024 sgemm, best of 10, GFLOP/s; heed::gemm calls "
                 "OpenBLAS with one thread per product, so its N-thread figure is N products at once)")
    lines.append("")
    lines.append("| threads | numpy (OpenBLAS) | torch.mm | heed::gemm |")
    lines.append("|---:|---:|---:|---:|")
    for t, g in gemm.items():
        lines.append(f"| {t} | {g.get('numpy', float('nan')):.1f} | {g.get('torch', float('nan')):.1f} | "
                     f"{g.get('heed', g.get('eigen', float('nan'))):.1f} |")
    lines.append("")
    lines.append("**Model FLOPs and fraction of peak** (training: forward + backward = 3 × forward FLOPs per "
                 "sample, dense-layer work only; peak = the best measured sgemm rate at that thread count)")
    lines.append("")
    lines.append("| variant | threads | MFLOP/sample fwd | MFLOP/sample train | heed GFLOP/s | heed % of peak "
                 "| torch GFLOP/s | torch % of peak |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        f = r["flops_per_sample"]
        peak = max(v for v in gemm[str(r["threads"])].values())
        hg = r["heed"]["train_samples_per_second"] * f["train"] / 1e9
        tg = r["torch"]["train_samples_per_second"] * f["train"] / 1e9
        lines.append(f"| {r['variant']} | {r['threads']} | {f['forward'] / 1e6:.2f} | {f['train'] / 1e6:.2f} | "
                     f"{hg:.1f} | {100 * hg / peak:.1f}% | {tg:.1f} | {100 * tg / peak:.1f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
