#!/usr/bin/env python3
"""docs/quality.md from the runs of bench/quality.sh (standard library only).

Reads, per dataset folder under --runs:
  modules/ablation.json            heed ablate over the module variants
  modules/<variant>/seed-<s>/twin.json|twin.skipped   the PyTorch twin on the same resolved config
  normalize-<mode>/ablation.json   DIN alone with din.normalize = mode (and plain)
  pooling-<combiner>/ablation.json the plain model with every unnamed pooling = combiner
"""
import argparse
import datetime
import json
import math
import os
import statistics
import subprocess

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def load(path):
    with open(path) as f:
        return json.load(f)


def fmt(x, digits=4):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def spread(s):
    """'mean ± std' of an ablation.json spread."""
    if not s or s.get("mean") is None:
        return "–"
    if s.get("n", 0) < 2 or s.get("std") is None:
        return fmt(s["mean"])
    return f"{fmt(s['mean'])} ± {fmt(s['std'])}"


def diff(d):
    """'+0.0123 [+0.0050, +0.0190]' of an ablation.json paired difference."""
    if not d or d.get("mean") is None:
        return "–"
    text = f"{d['mean']:+.4f}"
    if d.get("low") is not None and d.get("high") is not None:
        text += f" [{d['low']:+.4f}, {d['high']:+.4f}]"
    return text


def verdict(d):
    """above / below / noise: where a paired interval lies against zero."""
    if not d or d.get("low") is None:
        return "one seed"
    if d["low"] > 0:
        return "above"
    if d["high"] < 0:
        return "below"
    return "noise"


def paired(a, b):
    """Mean and 95% Student-t interval of a - b over paired seeds."""
    d = [x - y for x, y in zip(a, b)]
    if not d:
        return None
    mean = statistics.fmean(d)
    if len(d) < 2:
        return {"mean": mean, "low": None, "high": None}
    half = T975.get(len(d) - 1, 2.0) * statistics.stdev(d) / math.sqrt(len(d))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def twin_of(ablation_dir, variant):
    """The twin's test AUCs per seed for one variant, or the reason it has none."""
    aucs, reason = {}, None
    folder = os.path.join(ablation_dir, variant["name"])
    for run in variant["runs"]:
        seed_dir = os.path.join(folder, f"seed-{run['seed']}")
        if os.path.exists(os.path.join(seed_dir, "twin.json")):
            aucs[run["seed"]] = load(os.path.join(seed_dir, "twin.json"))["test"]["auc"]
        elif os.path.exists(os.path.join(seed_dir, "twin.skipped")):
            with open(os.path.join(seed_dir, "twin.skipped")) as f:
                reason = f.read().strip() or "failed"
    return aucs, reason


def heed_aucs(variant):
    return {r["seed"]: r["test"]["auc"] for r in variant["runs"] if r["test"]["auc"] is not None}


def modules_section(name, folder):
    ab = load(os.path.join(folder, "ablation.json"))
    variants = {v["name"]: v for v in ab["variants"]}
    lines = [f"### {name}", "",
             "| variant | test AUC | test gAUC | test logloss | Δ AUC vs plain [95%] | twin test AUC | twin Δ vs plain |",
             "|---|---|---|---|---|---|---|"]
    twins = {}
    for v in ab["variants"]:
        twin, reason = twin_of(folder, v)
        twins[v["name"]] = twin
        if twin:
            values = list(twin.values())
            twin_text = fmt(statistics.fmean(values)) + (
                f" ± {fmt(statistics.stdev(values))}" if len(values) > 1 else "")
        else:
            twin_text = f"n/a ({reason})" if reason else "–"
        twin_diff = "–"
        if v["name"] != "plain" and twin and twins.get("plain"):
            seeds = sorted(set(twin) & set(twins["plain"]))
            twin_diff = diff(paired([twin[s] for s in seeds], [twins["plain"][s] for s in seeds]))
        lines.append(f"| `{v['name']}` | {spread(v['test']['auc'])} | {spread(v['test']['gauc'])} | "
                     f"{spread(v['test']['logloss'])} | {diff(v.get('vs_reference') and v['vs_reference']['test_auc'])} | "
                     f"{twin_text} | {twin_diff} |")
    lines.append("")
    lines += targets(ab, variants, twins)
    lines.append(f"`heed ablate`: {ab['recommendation']['text']}")
    lines.append("")
    return lines


def targets(ab, variants, twins):
    """The two targets of the suite, checked on this dataset."""
    out = []
    full = variants.get("full")
    # Variants with one module: "senet", "din", "poso", or "full" when the config enables one.
    singles = [v for v in ab["variants"] if len(v["modules"]) == 1]
    if full and len(full["modules"]) > 1 and singles:
        best = max(singles, key=lambda v: v["test"]["auc"]["mean"])
        a, b = heed_aucs(full), heed_aucs(best)
        seeds = sorted(set(a) & set(b))
        d = paired([a[s] for s in seeds], [b[s] for s in seeds])
        ok = d is not None and (d["high"] is None and d["mean"] >= 0 or d["high"] is not None and d["high"] >= 0)
        out.append(f"- full − best single module (`{best['name']}`): {diff(d)}: "
                   f"{'within noise or better' if ok else '**below**'}")
    for v in singles:
        m = v["name"]
        if not v.get("vs_reference"):
            continue
        d = v["vs_reference"]["test_auc"]
        twin_plain, twin_v = twins.get("plain") or {}, twins.get(m) or {}
        seeds = sorted(set(twin_plain) & set(twin_v))
        td = paired([twin_v[s] for s in seeds], [twin_plain[s] for s in seeds]) if seeds else None
        twin_helps = td is not None and td["mean"] > 0
        flag = "**below plain where the twin gains**" if verdict(d) == "below" and twin_helps else verdict(d)
        out.append(f"- `{m}` ({v['modules'][0]}) − plain: {diff(d)} ({flag}; twin {diff(td)})")
    out.append("")
    return out


def settings_section(runs, datasets, prefix, title, header, choices):
    lines = [f"## {title}", "", header, "",
             "| dataset | " + " | ".join(f"`{c}`" for c in choices) + " |",
             "|---|" + "---|" * len(choices)]
    any_row = False
    for name in datasets:
        cells = []
        for c in choices:
            path = os.path.join(runs, name, f"{prefix}-{c}", "ablation.json")
            if not os.path.exists(path):
                cells.append("–")
                continue
            ab = load(path)
            chosen = [v for v in ab["variants"] if v["name"] != "plain"] or ab["variants"]
            v = chosen[0]
            text = spread(v["test"]["auc"])
            if v.get("vs_reference"):
                text += f"<br>Δ {diff(v['vs_reference']['test_auc'])}"
            cells.append(text)
        if any(c != "–" for c in cells):
            any_row = True
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines if any_row else []


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", required=True)
    p.add_argument("--seeds", type=int, required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--commit", help="the commit whose heed made the runs (default: HEAD)")
    p.add_argument("--note", default="", help="a paragraph on how this run differs from the plain command")
    a = p.parse_args()
    datasets = sorted(d for d in os.listdir(a.runs) if os.path.isdir(os.path.join(a.runs, d)))
    order = ["demo", "shop", "ml-100k", "ml-100k-next", "frappe", "criteo", "avazu"]
    datasets.sort(key=lambda d: order.index(d) if d in order else len(order))
    commit = a.commit
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
        except OSError:
            commit = "?"
    lines = ["# Quality suite", "",
             "Every example config, each module variant and the settings the defaults were chosen on, "
             f"{a.seeds} seeds each, on every dataset this machine had offline; the PyTorch twin "
             "(`bench/torch_reference.py`) trained beside heed on the same resolved config and files where it "
             "implements the variant. Made by:", "", "```", a.command, "```", "",
             f"heed at {commit}, {datetime.date.today().isoformat()}. Test figures are mean ± standard deviation "
             "over seeds; Δ is the paired difference to `plain` on the same seed with its 95% Student-t "
             "interval (docs/ablation.md). The twin early-stops on `data.valid` when the config names one "
             "and otherwise trains the config's epochs.", ""]
    if a.note:
        lines += [a.note, ""]
    skipped = os.path.join(a.runs, "..", "skipped.txt")
    if os.path.exists(skipped):
        with open(skipped) as f:
            names = sorted(set(f.read().split()))
        lines += [f"Skipped (not on this machine): {', '.join(names)}.", ""]
    lines += ["## Modules per dataset", ""]
    for name in datasets:
        folder = os.path.join(a.runs, name, "modules")
        if os.path.exists(os.path.join(folder, "ablation.json")):
            lines += modules_section(name, folder)
    lines += settings_section(a.runs, datasets, "normalize", "DIN's normalization (`din.normalize`)",
                              "DIN alone (`--variants din`) with each normalization of its scores: test AUC, "
                              "and Δ to plain (the history pooled by `embedding.sequence_pooling`) on the same seeds.",
                              ["raw", "softmax", "mean", "sqrtn"])
    lines += settings_section(a.runs, datasets, "pooling", "Pooling of multi and sequence features",
                              "The plain model with every multi and sequence feature that names no pooling "
                              "pooled by each combiner (`embedding.multi_pooling` and "
                              "`embedding.sequence_pooling`): test AUC.",
                              ["sum", "mean", "sqrtn"])
    with open(a.out, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main()
