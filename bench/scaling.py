#!/usr/bin/python3
"""Scaling curves of heed's training throughput (docs/performance.md), from heed's own runs.

    bench/scaling.py [--rows 4000] [--repeats 1] [--out docs/perf] [--build build] [--work bench-runs/scaling]

Generates its data with bench/gen_data.py (seed --seed) into --work, then trains the full
reference model (bench/configs/reference.toml: SENet over all fields, DIN over the history,
POSO gates, MLP 512-256-128) for one epoch on --rows training rows, once per point of each
curve (--repeats times, the median kept), and reads samples/s from each run's metrics.json:

  history   history items per row: features.hist_movie_ids.max_len = x on rows that all hold
            at least max(x) clicks (data from gen_data.py --max-history 200
            --max-earlier-clicks 400), so every row carries exactly x items; 2 threads
  fields    fields of the model, SENet's F: the reference's 9 (8 categorical or multi, the
            history) plus x - 9 noise categoricals extra_k (gen_data.py --extra-fields,
            100 values each) declared with --set; below 9, the user-profile fields zip,
            occupation, age, gender are dropped in that order (5 at least: user_id,
            user_activity, movie_id, genres, hist_movie_ids stay); 2 threads
  batch     train.batch_size, 2 threads
  threads   train.threads, batch 1024
  precision train.threads, batch 1024, once per train.precision (fp32, bf16): one line each,
            and for each a dashed peak line: threads x this core's multiply-add rate in that
            precision (build/lowp_bench's register-only loop) over the training multiply-adds
            of a sample (bench/model_spec.py's dense-layer count), the rate no schedule of
            those products could pass

The fields, batch and threads curves train on the first --rows rows of the benchmark's usual
data (the columns of a default gen_data.py run, history <= 50, plus the noise columns, which
the model reads only where declared). It writes one SVG line plot per curve into --out, the
numbers into --out/scaling.json (with the load average before every run; a run of some curves
replaces those curves there and keeps the others) and a Markdown table on stdout. The plots are
drawn here (no plotting library; the precision curve's two lines by bench/svg_plot.py).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_spec  # noqa: E402
from svg_plot import line_plot  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "configs", "reference.toml")
HISTORY_COLUMN = "hist_movie_ids"
# Fields dropped, in this order, for points below the reference's own field count; the others
# are what DIN (movie_id, the history) and POSO (user_activity) need, plus user_id and genres.
DROPPABLE = ["zip", "occupation", "age", "gender"]
TEST_ROWS = 1000  # scored after training, not timed
PRECISIONS = {"fp32": "#1f77b4", "bf16": "#d62728"}  # train.precision, and its line's color


def log(message):
    print(f"[scaling {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate(folder, rows, seed, options):
    """A gen_data.py folder, reused when its data.json says it was made with these options."""
    wanted = {"rows": rows, "seed": seed, **{k.lstrip("-").replace("-", "_"): v for k, v in options.items()}}
    info_path = os.path.join(folder, "data.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        if all(info.get(k) == v for k, v in wanted.items()):
            return
    log(f"gen_data.py --rows {rows} {' '.join(f'{k} {v}' for k, v in options.items())} -> {folder}")
    cmd = [sys.executable, os.path.join(ROOT, "bench", "gen_data.py"), "--out", folder, "--rows", str(rows),
           "--seed", str(seed)]
    for k, v in options.items():
        cmd += [k, str(v)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def copy_rows(src_path, dst_path, limit, keep=lambda line: True):
    """The header and the first `limit` rows that `keep` accepts; returns their count."""
    written = 0
    with open(src_path) as src, open(dst_path, "w") as dst:
        dst.write(next(src))
        for line in src:
            if written == limit:
                break
            if keep(line):
                dst.write(line)
                written += 1
    return written


def history_index(path):
    with open(path) as f:
        return f.readline().rstrip("\n").split("\t").index(HISTORY_COLUMN)


def mean_history_items(path, max_len):
    """Mean number of history items a row gives the model under max_len."""
    column = history_index(path)
    total = rows = 0
    with open(path) as f:
        next(f)
        for line in f:
            cell = line.rstrip("\n").split("\t")[column]
            total += min(len(cell.split("|")) if cell else 0, max_len)
            rows += 1
    return total / rows


def config_without(fields, work):
    """reference.toml without the named fields' sections (each is a bare `[features.NAME]`)."""
    if not fields:
        return REFERENCE
    with open(REFERENCE) as f:
        lines = f.read().split("\n")
    kept = []
    for i, line in enumerate(lines):
        m = re.match(r"\[features\.(\w+)\]", line)
        if m and m.group(1) in fields:
            following = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if following and not following.startswith("["):
                sys.exit(f"scaling.py: [features.{m.group(1)}] in {REFERENCE} has keys; cannot drop it by its header")
            continue
        kept.append(line)
    path = os.path.join(work, f"reference-without-{'-'.join(fields)}.toml")
    with open(path, "w") as f:
        f.write("\n".join(kept))
    return path


def reference_fields():
    with open(REFERENCE) as f:
        return [m.group(1) for m in re.finditer(r"^\[features\.(\w+)\]", f.read(), re.M)]


def train(heed, config, data_dir, sets, run_dir, repeats):
    """Median samples/s of `repeats` runs, the runs' values, the load average before each, and
    the field count of the resolved config."""
    cmd = [heed, "train", config, "--set", f"data.dir={data_dir}", "--set", "train.progress=none",
           "--set", "data.test=test.tsv", "--out", run_dir, "--overwrite"]  # each repeat replaces the last
    for s in sets:
        cmd += ["--set", s]
    shown = " ".join(s for s in sets if not s.startswith("features.extra_"))
    extras = sum(1 for s in sets if s.startswith("features.extra_"))
    values, loads = [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        log(f"{os.path.basename(config)} {shown}{f' +{extras} extra fields' if extras else ''} (load {loads[-1]:.1f})")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"scaling.py: {' '.join(cmd)} failed:\n{done.stderr}")
        with open(os.path.join(run_dir, "metrics.json")) as f:
            values.append(json.load(f)["history"][-1]["samples_per_second"])
    with open(os.path.join(run_dir, "config.toml")) as f:
        fields = len(re.findall(r"^\[features\.\w+\]", f.read(), re.M))
    return statistics.median(values), values, loads, fields


def svg_line_plot(path, title, subtitle, x_label, points):
    """points: [(x, y)], drawn on linear axes starting at 0; subtitle: lines under the title."""
    w, h, left, right, top, bottom = 520, 320 + 14 * len(subtitle), 70, 20, 34 + 14 * len(subtitle), 50
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_max, y_max = max(xs) * 1.05, max(ys) * 1.15

    def px(x):
        return left + (w - left - right) * x / x_max

    def py(y):
        return h - bottom - (h - top - bottom) * y / y_max

    title, x_label = escape(title), escape(x_label)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
           *(f'<text x="{w / 2}" y="{34 + 14 * i}" text-anchor="middle" fill="#555">{escape(line)}</text>'
             for i, line in enumerate(subtitle)),
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


def precision_peaks(heed, lowp_bench, data_dir, mean_items, work):
    """This core's multiply-add peak per training precision (G/s, one thread) and the reference
    model's training multiply-adds per sample (model_spec's dense-layer FLOPs over 2)."""
    measured = json.loads(subprocess.run([lowp_bench, "--shapes", "100,144,512"], check=True,
                                         capture_output=True, text=True).stdout)["peak_gmacs"]
    resolved = os.path.join(work, "reference-resolved.toml")
    with open(resolved, "w") as f:
        f.write(model_spec.resolve(heed, REFERENCE, [f"data.dir={data_dir}"]))
    flops = model_spec.flops_per_sample(model_spec.load(resolved), mean_items)["train"]
    return {p: measured[p] for p in PRECISIONS}, flops / 2


def ints(text):
    return [int(v) for v in text.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=4000, help="training rows per run")
    p.add_argument("--repeats", type=int, default=1, help="runs per point; the median is kept")
    p.add_argument("--seed", type=int, default=1, help="gen_data.py's seed")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "perf"), help="folder for the SVG files and scaling.json")
    p.add_argument("--work", default=os.path.join(ROOT, "bench-runs", "scaling"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--history", default="10,25,50,100,150,200", help="history items per row")
    p.add_argument("--fields", default="5,9,20,50,100", help="fields in the model (5 at least)")
    p.add_argument("--batch", default="128,256,512,1024,2048")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--curves", default="history,fields,batch,threads,precision")
    args = p.parse_args()

    heed = os.path.join(args.build, "heed")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    history, fields, wanted = ints(args.history), ints(args.fields), args.curves.split(",")
    own = reference_fields()
    if min(fields) < len(own) - len(DROPPABLE):
        sys.exit(f"scaling.py: --fields {min(fields)}: the model keeps at least {len(own) - len(DROPPABLE)} fields")
    extra_needed = max(0, max(fields) - len(own))

    # Data: the usual layout plus noise columns (fields, batch, threads), and long histories.
    base = os.path.join(args.work, "gen-fields")
    generate(base, int(args.rows / 0.9) + 2 * TEST_ROWS, args.seed, {"--extra-fields": extra_needed})
    base_dir = os.path.join(args.work, "data")
    os.makedirs(base_dir, exist_ok=True)
    if copy_rows(os.path.join(base, "train.tsv"), os.path.join(base_dir, "train.tsv"), args.rows) < args.rows:
        sys.exit(f"scaling.py: {base}/train.tsv has fewer than {args.rows} rows")
    copy_rows(os.path.join(base, "test.tsv"), os.path.join(base_dir, "test.tsv"), TEST_ROWS)
    base_items = mean_history_items(os.path.join(base_dir, "train.tsv"), 50)

    long_dir = os.path.join(args.work, "data-history")
    if "history" in wanted:
        longest = max(history)
        # About a third of the rows hold 200 clicks or more with 5-400 earlier clicks.
        long_gen = os.path.join(args.work, "gen-history")
        generate(long_gen, max(20000, 5 * args.rows), args.seed,
                 {"--max-history": longest, "--max-earlier-clicks": max(120, 2 * longest)})
        os.makedirs(long_dir, exist_ok=True)
        column = history_index(os.path.join(long_gen, "train.tsv"))
        got = copy_rows(os.path.join(long_gen, "train.tsv"), os.path.join(long_dir, "train.tsv"), args.rows,
                        lambda line: len(line.split("\t")[column].split("|")) >= longest)
        if got < args.rows:
            sys.exit(f"scaling.py: only {got} rows of {long_gen}/train.tsv hold {longest} clicks; lower --rows")
        copy_rows(os.path.join(long_gen, "test.tsv"), os.path.join(long_dir, "test.tsv"), TEST_ROWS)

    def fields_point(total):
        extra = total - len(own)
        config = config_without(DROPPABLE[:max(0, -extra)], args.work)
        sets = ["train.threads=2"] + [f"features.extra_{k}.kind=categorical" for k in range(max(0, extra))]
        return config, base_dir, sets

    fixed = "reference model: SENet over all fields, DIN, POSO, MLP 512-256-128"
    curves = {
        "history": ("history items per row", [fixed, "9 fields, 2 threads, batch 1024, every row holds x items"],
                    [(x, (REFERENCE, long_dir, ["train.threads=2", f"features.hist_movie_ids.max_len={x}"]))
                     for x in history]),
        "fields": ("fields (SENet's F)", [fixed, "history <= 50, 2 threads, batch 1024; below 9: profile fields",
                                          "dropped, past 9: 100-value noise categoricals added"],
                   [(x, fields_point(x)) for x in fields]),
        "batch": ("batch size", [fixed, f"9 fields, history <= 50 (mean {base_items:.0f} items), 2 threads"],
                  [(x, (REFERENCE, base_dir, ["train.threads=2", f"train.batch_size={x}"])) for x in ints(args.batch)]),
        "threads": ("threads", [fixed, f"9 fields, history <= 50 (mean {base_items:.0f} items), batch 1024"],
                    [(x, (REFERENCE, base_dir, [f"train.threads={x}"])) for x in ints(args.threads)]),
        "precision": ("threads", [fixed, f"9 fields, history <= 50 (mean {base_items:.0f} items), batch 1024,",
                                  "train.precision fp32 and bf16"],
                      [(x, (REFERENCE, base_dir, [f"train.threads={x}"])) for x in ints(args.threads)]),
    }
    results = {}
    started = time.time()
    def measure(name, points, extra_sets=(), tag=""):
        measured = []
        for x, (config, data_dir, sets) in points:
            value, values, loads, field_count = train(heed, config, data_dir, [*sets, *extra_sets],
                                                      os.path.join(args.work, f"{name}{tag}-{x}"), args.repeats)
            if name == "fields" and field_count != x:
                sys.exit(f"scaling.py: the fields point {x} resolved to {field_count} fields")
            measured.append({"x": x, "samples_per_second": value, "runs": values, "load_average_1min": loads})
        return measured

    for name in wanted:
        x_label, subtitle, points = curves[name]
        title = f"heed training: samples/s against {x_label}"
        if name == "precision":
            lines = {p: measure(name, points, [f"train.precision={p}"], f"-{p}") for p in PRECISIONS}
            peaks, macs = precision_peaks(heed, os.path.join(args.build, "lowp_bench"), base_dir, base_items, args.work)
            results[name] = {"x_label": x_label, "fixed": subtitle, "rows": args.rows, "repeats": args.repeats,
                             "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                             "peak_gmacs_per_thread": peaks, "train_multiply_adds_per_sample": macs,
                             "points": [dict(m, precision=p) for p, ms in lines.items() for m in ms]}
            xs = [x for x, _ in points]
            line_plot(os.path.join(args.out, "scaling-precision.svg"), f"{title} and training precision", subtitle,
                      x_label, "samples/s (log scale)",
                      [(f"train.precision = {p}", PRECISIONS[p], [(m["x"], m["samples_per_second"]) for m in ms])
                       for p, ms in lines.items()],
                      [(f"{p} peak: {peaks[p]:.0f} G multiply-adds/s per thread over {macs / 1e6:.2f} M per sample",
                        PRECISIONS[p], [(x, x * peaks[p] * 1e9 / macs) for x in xs]) for p in PRECISIONS],
                      log_y=True)
            continue
        measured = measure(name, points)
        results[name] = {"x_label": x_label, "fixed": subtitle, "points": measured}
        svg_line_plot(os.path.join(args.out, f"scaling-{name}.svg"), title,
                      subtitle, x_label, [(m["x"], m["samples_per_second"]) for m in measured])
    loads = [l for r in results.values() for m in r["points"] for l in m["load_average_1min"]]
    minutes = (time.time() - started) / 60
    print(f"{args.rows:,} training rows per run, 1 epoch, median of {args.repeats}; {minutes:.1f} minutes; "
          f"1-minute load average before the runs {min(loads):.1f} - {max(loads):.1f} on {os.cpu_count()} CPUs")
    for name, r in results.items():
        print(f"\n| {r['x_label']} |{' precision |' if name == 'precision' else ''} samples/s | load |\n"
              f"|---:|{'---|' if name == 'precision' else ''}---:|---:|")
        for m in r["points"]:
            print(f"| {m['x']} |{' ' + m['precision'] + ' |' if name == 'precision' else ''} "
                  f"{m['samples_per_second']:,.0f} | {max(m['load_average_1min']):.1f} |")
    # A run of some curves replaces them in scaling.json and keeps the others (the top-level
    # date, minutes and load then stay those of the run that wrote all four first curves).
    json_path = os.path.join(args.out, "scaling.json")
    run = {"rows": args.rows, "repeats": args.repeats, "seed": args.seed, "cpus": os.cpu_count(),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)), "minutes": round(minutes, 1),
           "load_average_1min": {"min": min(loads), "max": max(loads)},
           "mean_history_items_at_max_len_50": base_items, "curves": results}
    if os.path.exists(json_path) and set(wanted) != set(curves):
        with open(json_path) as f:
            kept = json.load(f)
        kept["curves"].update(results)
        run = kept
    with open(json_path, "w") as f:
        json.dump(run, f, indent=2)


if __name__ == "__main__":
    main()
