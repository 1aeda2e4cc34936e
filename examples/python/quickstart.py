#!/usr/bin/python3
"""heed from Python, end to end (docs/python.md walks through it):

    PYTHONPATH=build/python /usr/bin/python3 examples/python/quickstart.py   # or after pip install .

Writes demo data, trains the demo model (SENet, DIN, POSO) from pandas DataFrames, predicts,
scores one user's candidates as the HTTP server would, and writes the explain page.
"""
import argparse
from pathlib import Path

import pandas as pd

import heed

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="runs/quickstart", help="folder for the data, the run and the page")
parser.add_argument("--rows", type=int, default=50000, help="demo rows over train, valid and test")
parser.add_argument("--epochs", type=int, default=2)
args = parser.parse_args()
out = Path(args.out)

# 1. Demo data: heed.synth writes train.tsv, valid.tsv and test.tsv; read them as a user holds
#    data: numbers as numbers, the multi-valued and sequence fields as lists.
heed.synth(out / "data", rows=args.rows, seed=1)


def frame(path):
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in ("item_tags", "hist_item_ids", "hist_categories"):
        df[column] = [cell.split("|") if cell else [] for cell in df[column]]
    df["label"] = df["label"].astype(int)
    df["hour"] = df["hour"].astype(int)
    return df


train, valid, test = (frame(out / "data" / f"{split}.tsv") for split in ("train", "valid", "test"))

# 2. The demo config, two keys changed, trained from the DataFrames.
examples = Path(__file__).resolve().parents[1]
config = heed.Config.load(examples / "synth" / "config.toml")
config.set("train.epochs", args.epochs)
run = heed.train(config, train=train, valid=valid, test=test, out=out / "run", overwrite=True)
print(f"test AUC {run.metrics['test']['auc']:.4f} after {run.metrics['epochs_run']} epochs")

# 3. The kept model: predict a DataFrame (float32, one score per row, in order) and evaluate it.
model = heed.load(out / "run" / "model")
scores = model.predict(test.drop(columns=["label"]))
print(f"predicted {len(scores)} rows, mean click probability {scores.mean():.4f}")
print("evaluate:", {k: round(v, 4) for k, v in model.evaluate(test).items() if isinstance(v, float)})

# 4. One user and their candidates, as POST /v1/score takes them.
user_fields = ["user_id", "user_group", "age", "gender", "city", "hour", "hist_item_ids", "hist_categories"]
first = test.iloc[0]
user = {f: first[f] for f in user_fields}
candidates = [{f: row[f] for f in model.fields if f not in user_fields} for _, row in test.head(5).iterrows()]
print("scores of 5 candidates:", model.score(user=user, candidates=candidates).round(4).tolist())

# 5. What SENet, DIN and POSO learned, as heed explain's page.
report = model.explain_html(test, out / "explain.html", rows=5000)
print("SENet's top field:", report["senet"]["fields"][0]["name"], "- page:", out / "explain.html")
