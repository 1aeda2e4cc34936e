#!/usr/bin/python3
"""A harder sparse behaviour log than `heed synth --world shop`, for the probes in docs/results.md.

    bench/probe_log.py SEED OUT_DIR      # Debian's python3-numpy

820 users with 10-220 events, 55,000 items in 2,900 categories; each user is interested in 3-40
categories with Dirichlet(0.3) weights; an event repeats one of the last 20 items (20%), is a
uniformly random item (30% of the rest) or an item of an interest category (long-tailed within
it). Written as the next-item task of heed's recipes (user_id, item_id, category_id,
hist_item_ids, hist_category_ids, label): per event the next item against a uniform item, both
with the last 50 items and their categories; each user's last pair is test, the one before
valid. Prints the rows per split and the test AUC of the one-line rule "share of the history
in the candidate's category". It has no planted probability: the shop world is the analog with
a known ceiling; this one only exists to check that a finding holds on a second, sparser shape.
"""
import numpy as np, sys, os
seed = int(sys.argv[1]); out = sys.argv[2]
rng = np.random.default_rng(seed)
U, C, I = 820, 2900, 55000
item_cat = rng.integers(0, C, size=I)
cat_items = [[] for _ in range(C)]
for i, c in enumerate(item_cat): cat_items[c].append(i)
cat_items = [np.array(x) if x else np.array([rng.integers(0, I)]) for x in cat_items]
rows = {"train": [], "valid": [], "test": []}
for u in range(U):
    n = int(rng.integers(10, 220))
    k = int(rng.integers(3, 40))
    cats = rng.choice(C, size=k, replace=False)
    pref = rng.dirichlet(np.ones(k) * 0.3)
    events = []
    for t in range(n):
        if events and rng.random() < 0.2:
            events.append(events[int(rng.integers(max(0, len(events) - 20), len(events)))])
        elif rng.random() < 0.3:
            events.append(int(rng.integers(0, I)))
        else:
            c = cats[rng.choice(k, p=pref)]
            items = cat_items[c]
            # long tail within the category: Zipf-ish
            j = min(int(rng.zipf(1.3)) - 1, len(items) - 1)
            events.append(int(items[j]) if rng.random() < 0.5 else int(rng.choice(items)))
    pairs = []
    for t in range(1, n):
        hist = events[max(0, t - 50):t][::-1]
        pos = events[t]; neg = int(rng.integers(0, I))
        for item, label in ((pos, 1), (neg, 0)):
            pairs.append((u, item, int(item_cat[item]), "|".join(map(str, hist)),
                          "|".join(str(item_cat[h]) for h in hist), label))
    # last pair test, one before valid
    rows["test"] += pairs[-2:]
    rows["valid"] += pairs[-4:-2]
    rows["train"] += pairs[:-4]
os.makedirs(out, exist_ok=True)

for name, rs in rows.items():
    with open(f"{out}/{name}.tsv", "w") as f:
        f.write("user_id\titem_id\tcategory_id\thist_item_ids\thist_category_ids\tlabel\n")
        for r in rs: f.write("\t".join(map(str, r)) + "\n")
    print(name, len(rs))
def share(r):
    h = r[4].split('|') if r[4] else []
    return sum(1 for c in h if c == str(r[2])) / len(h) if h else 0.0
def auc(scores, labels):
    import numpy as np
    s = np.array(scores) + np.random.default_rng(0).random(len(scores)) * 1e-9
    y = np.array(labels); order = np.argsort(s); ranks = np.empty(len(s)); ranks[order] = np.arange(1, len(s) + 1)
    p = y.sum(); n = len(y) - p
    return (ranks[y == 1].sum() - p * (p + 1) / 2) / (p * n)
print("rule auc test", auc([share(r) for r in rows["test"]], [r[5] for r in rows["test"]]))
