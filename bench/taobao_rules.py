#!/usr/bin/env python3
"""One-line rules and the planted ceiling on a prepared taobao split (docs/datasets.md).

    python3 bench/taobao_rules.py PREPARED_DIR [--planted DIR/UserBehavior.planted.csv] [--scores FILE ...]

PREPARED_DIR is the output of `heed prepare taobao` (train.tsv, test.tsv). Prints the test AUC of
each rule, of the planted probability when --planted names the file `heed synth --world shop
--format userbehavior` wrote beside the log, and of each --scores file (`heed predict` output, one
score per test row, in order). Standard library only.
"""
import argparse
import csv
import sys


def auc(scores, labels):
    """Area under the ROC curve, ties counted half (the Mann-Whitney statistic)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, positives, i = 0.0, 0, 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        mid = (i + j + 1) / 2  # mean of ranks i+1 .. j
        for k in range(i, j):
            if labels[order[k]]:
                rank_sum += mid
                positives += 1
        i = j
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prepared")
    p.add_argument("--planted", help="UserBehavior.planted.csv: user_id,item_id,timestamp,probability")
    p.add_argument("--scores", nargs="*", default=[], help="heed predict outputs for test.tsv")
    a = p.parse_args()
    train = read_tsv(f"{a.prepared}/train.tsv")
    test = read_tsv(f"{a.prepared}/test.tsv")
    labels = [r["label"] == "1" for r in test]

    clicks, views = {}, {}
    for r in train:
        views[r["user_id"]] = views.get(r["user_id"], 0) + 1
        clicks[r["user_id"]] = clicks.get(r["user_id"], 0) + (r["label"] == "1")
    overall = sum(clicks.values()) / max(1, sum(views.values()))

    def user_rate(r):
        u = r["user_id"]
        return clicks[u] / views[u] if u in views else overall

    def in_history(r):
        return float(r["item_id"] in r["hist_item_ids"].split("|"))

    engagement_order = ["none", "0", "0-0.1", "0.1-0.2", "0.2-0.35", "0.35-0.5", "0.5+"]

    def engagement(r):
        v = r["user_engagement"]
        return engagement_order.index(v) if v in engagement_order else -1

    def category_share(r):
        cats = [c for c in r["hist_category_ids"].split("|") if c]
        return sum(c == r["category_id"] for c in cats) / len(cats) if cats else 0.0

    def item_engagement(r):
        # An item nobody viewed on earlier days ranks with the log's typical rate (0.2-0.35).
        v = r["item_engagement"]
        return engagement_order.index("0.2-0.35" if v == "none" else v)

    recency_order = ["never", "32+", "16-31", "8-15", "4-7", "2-3", "1"]

    results = [("rule: the user's click rate in train.tsv", [user_rate(r) for r in test]),
               ("rule: the item is in the user's history", [in_history(r) for r in test]),
               ("rule: the user_engagement bucket", [engagement(r) for r in test]),
               ("rule: share of the history in the candidate's category", [category_share(r) for r in test])]
    # Columns of later versions of the recipe, when the split has them.
    if test and "item_engagement" in test[0]:
        results.append(("rule: the item_engagement bucket", [item_engagement(r) for r in test]))
    if test and "item_recency" in test[0]:
        results.append(("rule: the item_recency bucket", [recency_order.index(r["item_recency"]) for r in test]))
    if a.planted:
        planted = {}
        with open(a.planted, newline="") as f:
            for row in csv.DictReader(f):
                planted[(row["user_id"], row["item_id"], row["timestamp"])] = float(row["probability"])
        try:
            scores = [planted[(r["user_id"], r["item_id"], r["timestamp"])] for r in test]
        except KeyError as e:
            sys.exit(f"taobao_rules.py: {a.planted} has no probability for test view {e}")
        results.insert(0, ("the planted probability (the ceiling)", scores))
    for path in a.scores:
        with open(path) as f:
            scores = [float(line.split("\t")[-1]) for line in f if line.strip()]
        if len(scores) != len(test):
            sys.exit(f"taobao_rules.py: {path} has {len(scores)} scores for {len(test)} test rows")
        results.append((path, scores))
    print(f"{len(test)} test rows, {sum(labels)} positive")
    for name, scores in results:
        print(f"{auc(scores, labels):.4f}  {name}")


if __name__ == "__main__":
    main()
