#!/usr/bin/python3
"""Scaling curves of heed's training throughput (docs/performance.md), from heed's own runs.

    bench/scaling.py --data bench-data/100000 [--rows 20000] [--out docs/perf] [--build build]

Trains the full reference model (bench/configs/reference.toml) for one epoch on the first
--rows rows of DATA/train.tsv, once per point of each curve, and reads samples/s from each run's
metrics.json:

  history   history length kept (features.hist_movie_ids.max_len), 2 threads
  batch     batch size (train.batch_size), 2 threads
  threads   train.threads, batch 1024

and writes one SVG line plot per curve into --out plus a Markdown table on stdout. The plots are
drawn here (no plotting library), so the script needs only Python's standard library.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(heed, config, data_dir, sets, run_dir):
    cmd = [heed, "train", config, "--set", f"data.dir={data_dir}", "--set", "train.progress=none",
           "--set", "data.test=test.tsv", "--out", run_dir]
    for s in sets:
        cmd += ["--set", s]
    print(f"[scaling {time.strftime('%H:%M:%S')}] {' '.join(sets)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    return metrics["history"][-1]["samples_per_second"]


def svg_line_plot(path, title, x_label, points):
    """points: [(x, y)], drawn on linear axes starting at 0."""
    w, h, left, right, top, bottom = 480, 300, 70, 20, 30, 50
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_max, y_max = max(xs) * 1.05, max(ys) * 1.15

    def px(x):
        return left + (w - left - right) * x / x_max

    def py(y):
        return h - bottom - (h - top - bottom) * y / y_max

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
           f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">{x_label}</text>',
           f'<text x="16" y="{(top + h - bottom) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 16 {(top + h - bottom) / 2})">samples/s</text>']
    for i in range(5):
        y = y_max * i / 4
        out.append(f'<line x1="{left - 4}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:,.0f}</text>')
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 15}" text-anchor="middle">{x:g}</text>')
    out.append('<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="' +
               " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points) + '"/>')
    for x, y in points:
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="#1f77b4"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a bench/gen_data.py folder (train.tsv, test.tsv)")
    p.add_argument("--rows", type=int, default=20000, help="training rows used per run")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "perf"), help="folder for the SVG files")
    p.add_argument("--work", default=os.path.join(ROOT, "bench-runs", "scaling"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--history", default="10,20,30,40,50", help="history lengths kept")
    p.add_argument("--batch", default="128,256,512,1024,2048")
    p.add_argument("--threads", default="1,2")
    args = p.parse_args()

    heed = os.path.join(args.build, "heed")
    config = os.path.join(ROOT, "bench", "configs", "reference.toml")
    data_dir = os.path.join(args.work, "data")
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    # The first --rows training rows; a small test file (scoring it is not timed).
    for name, limit in (("train.tsv", args.rows), ("test.tsv", 1000)):
        with open(os.path.join(args.data, name)) as src, open(os.path.join(data_dir, name), "w") as dst:
            for i, line in enumerate(src):
                if i > limit:
                    break
                dst.write(line)

    curves = {
        "history": ("history length kept (values)", "2 threads, batch 1024",
                    [(int(v), ["train.threads=2", f"features.hist_movie_ids.max_len={v}"]) for v in args.history.split(",")]),
        "batch": ("batch size", "2 threads",
                  [(int(v), ["train.threads=2", f"train.batch_size={v}"]) for v in args.batch.split(",")]),
        "threads": ("threads", "batch 1024",
                    [(int(v), [f"train.threads={v}"]) for v in args.threads.split(",")]),
    }
    results = {}
    for name, (x_label, fixed, points) in curves.items():
        measured = []
        for x, sets in points:
            run_dir = os.path.join(args.work, f"{name}-{x}")
            measured.append((x, train(heed, config, data_dir, sets, run_dir)))
        results[name] = measured
        svg_line_plot(os.path.join(args.out, f"scaling-{name}.svg"),
                      f"full model training: samples/s against {x_label} ({fixed})", x_label, measured)
    load = os.getloadavg()
    print(f"{args.rows:,} training rows per run, 1 epoch, load average at the end {load[0]:.1f}")
    for name, measured in results.items():
        print(f"\n| {curves[name][0]} | samples/s |\n|---:|---:|")
        for x, y in measured:
            print(f"| {x} | {y:,.0f} |")
    with open(os.path.join(args.out, "scaling.json"), "w") as f:
        json.dump({"rows": args.rows, "load_average": load, "curves": results}, f, indent=2)


if __name__ == "__main__":
    main()
