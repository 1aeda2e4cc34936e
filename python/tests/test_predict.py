"""predict, evaluate and score against the command line, the server and each other."""
import json
import pathlib
import re
import subprocess
import threading
import urllib.request

import numpy as np
import pandas as pd
import pytest

import heed
from conftest import heed_binary, read_frame, write_frame


def test_run_has_metrics_and_model(run):
    assert 0.5 < run.metrics["test"]["auc"] < 1.0
    assert run.metrics["epochs_run"] == 2
    assert run.model.fields and "user_id" in run.model.fields


def test_predict_file_equals_cli(run, data_dir, tmp_path):
    scores = run.model.predict(data_dir / "test.tsv")
    assert scores.dtype == np.float32 and scores.ndim == 1
    out = tmp_path / "scores.tsv"
    subprocess.run([heed_binary(), "predict", f"{run.folder}/model", "--data", str(data_dir / "test.tsv"),
                    "--out", str(out)], check=True)
    cli = np.loadtxt(out, dtype=np.float64)
    assert len(cli) == len(scores)
    np.testing.assert_allclose(scores, cli, rtol=0, atol=1e-6)


def test_predict_dataframe_equals_file(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    from_file = run.model.predict(data_dir / "test.tsv")
    from_frame = run.model.predict(df.drop(columns=["label"]))
    np.testing.assert_allclose(from_frame, from_file, rtol=0, atol=1e-6)
    # Rows in another order score in that order.
    reordered = df.iloc[::-1].reset_index(drop=True)
    np.testing.assert_allclose(run.model.predict(reordered), from_file[::-1], rtol=0, atol=1e-6)


def _repeat_index(names):
    """Per column, how many columns before it carry its name."""
    seen = {}
    out = []
    for name in names:
        out.append(seen.get(name, 0))
        seen[name] = out[-1] + 1
    return out


def test_lists_of_every_kind_score_as_the_file(run, data_dir, tmp_path):
    # The model reads its lists hashed where they are plain ASCII strings and as text elsewhere
    # (test_dataframes.py): both score as the TSV the frame is written to.
    df = read_frame(data_dir / "test.tsv").head(200).reset_index(drop=True)
    df.at[0, "item_tags"] = ["ü", "t1"]                 # not ASCII
    df.at[1, "item_tags"] = ("t1", "t2")                # a tuple
    df.at[2, "hist_item_ids"] = ["", "i1"]              # an empty value, with its companion's
    df.at[2, "hist_categories"] = ["", "c1"]
    df.at[3, "item_tags"] = []
    df.at[4, "user_id"] = "ü1"                          # a row not plain ASCII
    df.at[5, "hist_item_ids"] = np.array(["i1", "i2"])  # an array
    df.at[5, "hist_categories"] = ["c1", "c2"]
    df.at[6, "item_tags"] = "t1|t2"                     # a joined cell
    df.at[7, "item_tags"] = None                        # a missing one
    df.at[8, "hist_item_ids"] = ["i1", "i1", "i2"] * 30  # longer than max_len (50): the last 50 kept
    df.at[8, "hist_categories"] = ["c1", "c1", "c2"] * 30
    path = tmp_path / "edge.tsv"
    write_frame(df, path)
    np.testing.assert_allclose(run.model.predict(df), run.model.predict(path), rtol=0, atol=1e-6)


def test_a_history_spread_over_columns_of_one_name_reads_as_its_list(run, data_dir):
    # The layout of public DIN logs: one value per column, every column named after the
    # feature, None where a row's history is shorter.
    df = read_frame(data_dir / "test.tsv").drop(columns=["label"])
    width = int(df["hist_item_ids"].map(len).max())
    assert width > 1
    spread = df.drop(columns=["hist_item_ids", "hist_categories"])
    parts = [spread]
    for column in ("hist_item_ids", "hist_categories"):
        wide = pd.DataFrame([values + [None] * (width - len(values)) for values in df[column]])
        wide.columns = [column] * width
        parts.append(wide)
    spread = pd.concat(parts, axis=1)
    np.testing.assert_array_equal(run.model.predict(spread), run.model.predict(df))
    # The same columns as pandas.read_csv names a repeated header: X, X.1, X.2, ...
    mangled = spread.copy()
    mangled.columns = [name if i == 0 or name not in ("hist_item_ids", "hist_categories") else f"{name}.{i}"
                       for name, i in zip(spread.columns, _repeat_index(spread.columns))]
    assert "hist_item_ids.1" in mangled.columns
    np.testing.assert_array_equal(run.model.predict(mangled), run.model.predict(df))
    # A feature that takes one value may not be read from a repeated name.
    twice = pd.concat([df, df[["user_id"]]], axis=1)
    with pytest.raises(heed.HeedError, match=r"2 columns 'user_id' .* feature 'user_id' is ambiguous"):
        run.model.predict(twice)


def test_evaluate_dataframe_equals_file_and_cli(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    from_file = run.model.evaluate(data_dir / "test.tsv")
    assert run.model.evaluate(df) == from_file
    assert from_file["auc"] == pytest.approx(run.metrics["test"]["auc"], abs=1e-12)


def score_request(df, row_indices, model):
    """A /v1/score request: the user's fields from the first row, the rest per candidate."""
    user_fields = ["user_id", "user_group", "age", "gender", "city", "hour", "hist_item_ids", "hist_categories"]
    first = df.iloc[row_indices[0]]
    user = {f: first[f] for f in user_fields}
    candidates = [{f: df.iloc[r][f] for f in model.fields if f not in user_fields} for r in row_indices]
    rows = pd.DataFrame([{**user, **c} for c in candidates])
    return user, candidates, rows


def test_score_equals_predict_on_the_same_rows(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    user, candidates, rows = score_request(df, list(range(20)), run.model)
    scores = run.model.score(user=user, candidates=candidates)
    assert scores.dtype == np.float32 and len(scores) == 20
    np.testing.assert_allclose(scores, run.model.predict(rows), rtol=0, atol=1e-6)


def test_score_limits_and_errors_are_the_servers(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    user, candidates, _ = score_request(df, list(range(5)), run.model)
    with pytest.raises(heed.RequestError, match="candidates"):
        run.model.score(user=user, candidates=candidates, max_candidates=4)
    with pytest.raises(heed.RequestError, match="no_such_field"):
        run.model.score(user={**user, "no_such_field": "1"}, candidates=candidates)
    with pytest.raises(heed.RequestError):
        run.model.score(user=user, candidates=[])
    missing = {k: v for k, v in user.items() if k != "age"}
    with pytest.raises(heed.RequestError, match="age"):
        run.model.score(user=missing, candidates=candidates)


def test_scoring_from_four_threads(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    requests = [score_request(df, list(range(s, s + 30)), run.model) for s in range(0, 240, 30)]
    expected = [run.model.score(user=u, candidates=c) for u, c, _ in requests]
    results, errors = {}, []

    def work(t):
        try:
            for repeat in range(5):
                for i, (u, c, _) in enumerate(requests):
                    results[(t, repeat, i)] = run.model.score(user=u, candidates=c)
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 * 5 * len(requests)
    for (t, repeat, i), scores in results.items():
        np.testing.assert_array_equal(scores, expected[i])


def test_bad_row_in_a_file_is_the_clis_message(run, data_dir, tmp_path):
    lines = (data_dir / "test.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    cells = lines[3].split("\t")
    cells[header.index("label")] = "maybe"
    lines[3] = "\t".join(cells)
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(lines[:10]) + "\n")
    with pytest.raises(heed.ParseError) as error:
        run.model.evaluate(bad)
    cli = subprocess.run([heed_binary(), "eval", f"{run.folder}/model", "--data", str(bad)],
                         capture_output=True, text=True)
    assert cli.returncode != 0
    assert str(error.value) in cli.stderr
    assert f"{bad}:4: column {header.index('label') + 1} (label)" in str(error.value)


def test_bad_dataframe_cell_names_row_and_column(run, data_dir):
    df = read_frame(data_dir / "test.tsv").head(10)
    df["label"] = df["label"].astype(object)
    df.loc[2, "label"] = "maybe"
    with pytest.raises(heed.ParseError, match=r"evaluate DataFrame:3: column \d+ \(label\): label must be"):
        run.model.evaluate(df)
    with pytest.raises(heed.HeedError, match="no column 'age'"):
        run.model.predict(df.drop(columns=["age"]))
    with pytest.raises(TypeError):
        run.model.predict(42)


def serve(model_path):
    """`heed serve` on a free port: (process, base URL)."""
    server = subprocess.Popen([heed_binary(), "serve", str(model_path), "--port", "0", "--grpc-port", "-1",
                               "--threads", "1"], stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r"on (http://[^ ]+) with", line)
    if not match:
        server.kill()
        raise AssertionError(f"heed serve said: {line}{server.stderr.read()}")
    return server, match.group(1)


def test_score_explain_is_the_servers(run, data_dir):
    df = read_frame(data_dir / "test.tsv")
    first = next(r for r in range(len(df)) if len(df["hist_item_ids"][r]) > 1)  # a user with a history
    user, candidates, _ = score_request(df, list(range(first, first + 7)), run.model)
    scores, explanation = run.model.score(user=user, candidates=candidates, explain=True)
    np.testing.assert_array_equal(scores, run.model.score(user=user, candidates=candidates))
    # Per candidate: DIN's weights over the user's history, SENet's weights per gated field.
    assert set(explanation) == {"din", "senet"}
    din = explanation["din"]["hist_item_ids"]
    assert len(din) == 7 and 0 < len(din[0]) <= len(user["hist_item_ids"])
    assert all(len(w) == len(din[0]) for w in din)
    assert len(explanation["senet"]["weights"]) == 7
    assert len(explanation["senet"]["weights"][0]) == len(explanation["senet"]["fields"])

    server, url = serve(pathlib.Path(run.folder) / "model")
    try:
        body = json.dumps({"user": user, "candidates": candidates, "explain": True},
                          default=lambda v: v.tolist()).encode()
        request = urllib.request.Request(url + "/v1/score", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert explanation == answer["explain"]
    np.testing.assert_array_equal(scores, np.array(answer["scores"], dtype=np.float32))
