#!/usr/bin/python3
"""Parse throughput: heed's streaming reader next to pandas read_csv and the floor of reading the
bytes at all (`cat`, `wc -l`), on the same files in one run.

    bash bench/parse_bench.sh --rows 1000000 --repeats 5 --threads 1,2 --formats tsv \\
        --reference bench-data/1000000 --plot docs/perf/parse-threads.svg --json docs/perf/parse.json

Writes a Criteo-like file (label, 13 counts, 26 hex categories) as TSV, CSV, libSVM and gzip'd
TSV with `parse_bench --make` (--formats picks which), then times each --repeats times and keeps
the median (the development machine is shared: single runs move by tens of percent):
  heed    parse_bench --file F --format FMT --threads T: reading, decompressing, splitting,
          parsing numbers, bucketizing and hashing every value into training rows, with T parsing
          threads (plus one reading thread)
  pandas  pandas.read_csv(F, sep=...) with its C engine (one thread): typed columns, no hashing.
          pandas has no libSVM reader, so that row has no pandas figure.
  cat     `cat F > /dev/null` and `wc -l F`: the bytes read from the page cache (after one
          warm-up read), the most any reader of the file could reach on one thread.
--reference DIR adds bench/gen_data.py's DIR/train.tsv read as bench/configs/reference.toml
reads it (the benchmark model's file: 10 columns, a 50-item history per row).
Prints a Markdown table: rows/s and MB/s per thread (MB of the file as stored, 10^6 bytes), MB
per CPU-second (the CPU time of every thread of the run, reading thread included: what the work
itself costs, which other jobs on a shared machine do not inflate as they do the wall time), and
heed's rows/s over pandas'. --plot draws MB/s (all threads together) against threads, the
`cat` and `wc -l` rates as flat lines; --json keeps every run's time.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import tempfile
import time
from xml.sax.saxutils import escape

import pandas

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def heed(binary, path, fmt, threads, repeats, config=None):
    command = [binary, "--file", path, "--format", fmt, "--threads", str(threads), "--repeats", str(repeats)]
    if config:
        command += ["--config", config]
    out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {"rows": out["rows"], "runs": out["all_seconds"], "seconds": statistics.median(out["all_seconds"]),
            "cpu_runs": out["all_cpu_seconds"], "cpu_seconds": statistics.median(out["all_cpu_seconds"])}


def pandas_read(path, sep, repeats):
    runs, cpu_runs = [], []
    rows = 0
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        frame = pandas.read_csv(path, sep=sep, engine="c", low_memory=False)
        runs.append(time.perf_counter() - start)
        cpu_runs.append(time.process_time() - cpu_start)
        rows = len(frame)
    return {"rows": rows, "runs": runs, "seconds": statistics.median(runs), "cpu_runs": cpu_runs,
            "cpu_seconds": statistics.median(cpu_runs)}


def floor_read(command, path, repeats):
    """Median seconds of `command path` with its output thrown away (the file already cached)."""
    subprocess.run(["cat", path], check=True, stdout=subprocess.DEVNULL)
    runs, cpu_runs = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command + [path], check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_runs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"runs": runs, "seconds": statistics.median(runs), "cpu_runs": cpu_runs,
            "cpu_seconds": statistics.median(cpu_runs)}


def svg_rate_plot(path, title, subtitle, series, floors):
    """series: [(name, colour, dashes, [(threads, MB/s)])] (dashes: "" for a solid line, or an SVG
    stroke-dasharray); floors: [(name, MB/s)] drawn as grey dashed lines."""
    w, left, right, top = 520, 70, 90, 34 + 14 * len(subtitle)
    bottom = 50 + 16 * len(series)  # the axis label, then a legend line per series
    h = 270 + top + bottom
    xs = sorted({x for _, _, _, points in series for x, _ in points})
    ys = [y for _, _, _, points in series for _, y in points] + [y for _, y in floors]
    # A log axis: pandas, heed and the floors lie a factor of 10 or more apart.
    y_low = 10 ** math.floor(math.log10(min(ys) / 1.5))
    y_high = 10 ** math.ceil(math.log10(max(ys) * 1.5))
    x_max = max(xs) + 0.5

    def px(x):
        return left + (w - left - right) * x / x_max

    def py(y):
        return h - bottom - (h - top - bottom) * math.log10(y / y_low) / math.log10(y_high / y_low)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
           *(f'<text x="{w / 2}" y="{34 + 14 * i}" text-anchor="middle" fill="#555">{escape(line)}</text>'
             for i, line in enumerate(subtitle)),
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
           f'<text x="{(left + w - right) / 2}" y="{h - bottom + 32}" text-anchor="middle">parsing threads</text>',
           f'<text x="16" y="{(top + h - bottom) / 2}" text-anchor="middle" '
           f'transform="rotate(-90 16 {(top + h - bottom) / 2})">MB/s, all threads together (log scale)</text>']
    decade = y_low
    while decade < y_high * 1.01:
        for y in (decade, 3 * decade):
            if y <= y_high * 1.01:
                out.append(f'<line x1="{left - 4}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
                out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:,.0f}</text>')
        decade *= 10
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 15}" text-anchor="middle">{x:g}</text>')
    legend_y = h - bottom + 50
    for name, y in floors:
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" stroke="#555" '
                   f'stroke-dasharray="5,4"/>')
        out.append(f'<text x="{w - right + 6}" y="{py(y) + 4:.1f}" fill="#555">{escape(name)}: {y:,.0f}</text>')
    for k, (name, colour, dashes, points) in enumerate(series):
        # Neighbouring series' figures on either side of their points, so close ones stay apart.
        label_dx, anchor = (8, "start") if k % 2 == 0 else (-8, "end")
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        if len(points) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="' +
                       " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points) + '"/>')
        for x, y in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
            out.append(f'<text x="{px(x) + label_dx:.1f}" y="{py(y) + 4:.1f}" text-anchor="{anchor}" '
                       f'fill="{colour}">{y:,.0f}</text>')
        out.append(f'<line x1="{left}" y1="{legend_y - 4}" x2="{left + 10}" y2="{legend_y - 4}" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + 14}" y="{legend_y}">{escape(name)}</text>')
        legend_y += 16
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def plot(results, path):
    """The SVG of --plot from a run's results (those of --json too: --replot redraws one)."""
    tsv = results["inputs"]["tsv"]
    series = [("heed, Criteo-like TSV", "#1f77b4", "",
               [(int(t), tsv["file_mb"] / r["seconds"]) for t, r in sorted(tsv["heed"].items(), key=lambda kv: int(kv[0]))]),
              ("heed, Criteo-like TSV: MB per CPU-second", "#1f77b4", "2,3",
               [(int(t), tsv["file_mb"] / r["cpu_seconds"]) for t, r in sorted(tsv["heed"].items(), key=lambda kv: int(kv[0]))])]
    if "reference" in results["inputs"]:
        ref = results["inputs"]["reference"]
        series.append(("heed, reference TSV", "#2ca02c", "",
                       [(int(t), ref["file_mb"] / r["seconds"]) for t, r in sorted(ref["heed"].items(), key=lambda kv: int(kv[0]))]))
    series.append(("pandas, the Criteo-like TSV", "#ff7f0e", "", [(1, tsv["file_mb"] / tsv["pandas"]["seconds"])]))
    floors = [("cat", tsv["file_mb"] / tsv["cat"]["seconds"]), ("wc -l", tsv["file_mb"] / tsv["wc -l"]["seconds"])]
    svg_rate_plot(path, "heed's reader: MB/s against parsing threads",
                  [f"{results['rows']:,}-row Criteo-like TSV ({tsv['file_mb']:.0f} MB), read, split, hashed; "
                   f"median of {results['repeats']}",
                   f"{results['cores']} shared cores, load average {results['load_average']:.1f} before, "
                   f"{results['load_average_after']:.1f} after; grey: reading the TSV's bytes"],
                  series, floors)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--formats", default="tsv,csv,libsvm,gzip")
    parser.add_argument("--reference", help="a bench/gen_data.py folder whose train.tsv is timed too")
    parser.add_argument("--plot", help="SVG of MB/s against threads (the TSV, the reference file, the floors)")
    parser.add_argument("--json", help="every run's figures")
    parser.add_argument("--replot", metavar="JSON", help="only draw --plot from an earlier --json file")
    args = parser.parse_args()
    if args.replot:
        with open(args.replot) as f:
            plot(json.load(f), args.plot)
        return
    binary = os.path.join(args.build, "parse_bench")
    threads = [int(t) for t in args.threads.split(",")]
    formats = args.formats.split(",")
    results = {"rows": args.rows, "repeats": args.repeats, "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "load_average": os.getloadavg()[0], "cores": os.cpu_count(), "inputs": {}}
    with tempfile.TemporaryDirectory(prefix="heed_parse_bench_") as folder:
        make = [binary, "--make", folder, "--rows", str(args.rows)]
        if formats == ["tsv"]:
            make.append("--tsv-only")
        subprocess.run(make, check=True)
        files = {"tsv": ("rows.tsv", "\t", None), "csv": ("rows.csv", ",", None),
                 "libsvm": ("rows.libsvm", None, None), "gzip": ("rows.tsv.gz", "\t", None)}
        files = {k: v for k, v in files.items() if k in formats}
        if args.reference:
            files["reference"] = (os.path.abspath(os.path.join(args.reference, "train.tsv")), "\t",
                                  os.path.join(ROOT, "bench", "configs", "reference.toml"))
        print(f"{args.rows:,} rows; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"median of {args.repeats} runs\n")
        print("| input | file MB | reader | threads | rows/s per thread | MB/s per thread | MB per CPU-second | "
              "heed / pandas (rows/s) |")
        print("|---|---|---|---|---|---|---|---|")
        for fmt, (name, sep, config) in files.items():
            path = os.path.join(folder, name)
            size = os.path.getsize(path) / 1e6
            entry = results["inputs"][fmt] = {"file_mb": size, "heed": {}}
            if fmt in ("tsv", "reference"):
                for tool, command in (("cat", ["cat"]), ("wc -l", ["wc", "-l"])):
                    r = entry[tool] = floor_read(command, path, args.repeats)
                    print(f"| {fmt} | {size:.0f} | `{tool}` | 1 | | {size / r['seconds']:.1f} | "
                          f"{size / max(r['cpu_seconds'], 1e-3):.0f} | |")
            base = entry["pandas"] = pandas_read(path, sep, args.repeats) if sep else None
            for t in threads:
                r = entry["heed"][t] = heed(binary, path, "tsv" if fmt == "reference" else fmt, t, args.repeats, config)
                rate = r["rows"] / r["seconds"]
                ratio = f"{rate / (base['rows'] / base['seconds']):.2f}" if base else "n/a"
                print(f"| {fmt} | {size:.0f} | heed | {t} | {rate / t:,.0f} | {size / r['seconds'] / t:.1f} | "
                      f"{size / r['cpu_seconds']:.0f} | {ratio} |")
            if base:
                assert base["rows"] == r["rows"], (base, r)
                print(f"| {fmt} | {size:.0f} | pandas | 1 | {base['rows'] / base['seconds']:,.0f} | "
                      f"{size / base['seconds']:.1f} | {size / base['cpu_seconds']:.0f} | |")
    results["load_average_after"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot(results, args.plot)

if __name__ == "__main__":
    main()
