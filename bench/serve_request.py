#!/usr/bin/env python3
"""Writes a /v1/score request body for bench/serve_bench.sh (with --v2: the same request as a
KServe v2 infer body, one BYTES tensor per field, the user's of shape [1], for the gRPC load).

    serve_request.py ROWS N              the user side of one row of a `heed synth` file and the
                                         candidate side (item_id, item_category, item_tags) of
                                         the next N rows
    serve_request.py ROWS N --constant   the first N rows of a request file laid out as training
                                         rows (bench/gen_data.py's requests.tsv): a column equal
                                         in all N rows is the user's, the others per candidate
"""
import json
import sys

rows_path, count = sys.argv[1], int(sys.argv[2])
constant = "--constant" in sys.argv[3:]
v2 = "--v2" in sys.argv[3:]
CANDIDATE = ("item_id", "item_category", "item_tags")
with open(rows_path) as f:
    header = f.readline().rstrip("\n").split("\t")
    rows = [dict(zip(header, f.readline().rstrip("\n").split("\t"))) for _ in range(count + (0 if constant else 1))]
if constant:
    shared = [k for k in header if k != "label" and all(r[k] == rows[0][k] for r in rows)]
    user = {k: rows[0][k] for k in shared}
    candidates = [{k: r[k] for k in header if k != "label" and k not in shared} for r in rows]
else:
    user = {k: v for k, v in rows[0].items() if k not in CANDIDATE and k != "label"}
    # The longest history among the rows read, so DIN has work to do.
    longest = max(rows, key=lambda r: len(r["hist_item_ids"]))
    user["hist_item_ids"], user["hist_categories"] = longest["hist_item_ids"], longest["hist_categories"]
    candidates = [{k: r[k] for k in CANDIDATE} for r in rows[1:]]
if v2:
    inputs = [{"name": k, "datatype": "BYTES", "shape": [1], "data": [v]} for k, v in user.items()]
    inputs += [{"name": k, "datatype": "BYTES", "shape": [len(candidates)], "data": [c[k] for c in candidates]}
               for k in candidates[0]]
    json.dump({"inputs": inputs}, sys.stdout)
else:
    json.dump({"user": user, "candidates": candidates}, sys.stdout)
