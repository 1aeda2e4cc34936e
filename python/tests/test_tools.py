"""explain, ablate, synth and prepare: the same numbers and files as their commands."""
import json
import subprocess

import pytest

import heed
from conftest import heed_binary, read_frame, small_config


def test_explain_dataframe_equals_file_and_cli(run, data_dir, tmp_path):
    from_file = run.model.explain(data_dir / "test.tsv", rows=500, shuffles=1)
    from_frame = run.model.explain(read_frame(data_dir / "test.tsv"), rows=500, shuffles=1)
    assert from_file["senet"]["fields"] and from_file["din"]
    page = tmp_path / "report.html"
    subprocess.run([heed_binary(), "explain", f"{run.folder}/model", "--data", str(data_dir / "test.tsv"),
                    "--out", str(page), "--rows", "500", "--shuffles", "1"], check=True, capture_output=True)
    cli = json.loads((tmp_path / "report.json").read_text())
    for report in (from_file, from_frame):
        assert report["senet"] == cli["senet"] and report["poso"] == cli["poso"]
    assert from_file["din"] == cli["din"]
    # The DataFrame is read in memory, no file written: the report names it, and numbers a
    # sampled row by its DataFrame row from 1 (as errors do), where the file has a header line.
    assert from_frame["summary"]["data"] == "explain DataFrame"
    for attention in cli["din"]["attentions"]:
        for sample in attention["samples"]:
            sample["line"] -= 1
    assert from_frame["din"] == cli["din"]
    assert from_frame["importance"] == from_file["importance"]
    assert from_frame["summary"]["metrics"] == from_file["summary"]["metrics"]
    # Raw values (equal to the CLI's above): each sampled candidate and its history items' ids.
    sample = from_frame["din"]["attentions"][0]["samples"][0]
    assert sample["query"]["item_id"] and all(item["values"]["hist_item_ids"] for item in sample["history"])


def test_explain_html_writes_page_and_json(run, data_dir, tmp_path):
    page = tmp_path / "out" / "explain.html"
    numbers = run.model.explain_html(data_dir / "test.tsv", page, rows=300, shuffles=0)
    assert page.read_text().lstrip().lower().startswith("<!doctype html")
    assert json.loads((tmp_path / "out" / "explain.json").read_text()) == numbers


def test_ablate_returns_ablation_json(data_dir, tmp_path):
    config = small_config(data_dir).set("train.epochs", 1)
    result = heed.ablate(config, out=tmp_path / "ablate", seeds=1, variants=["plain", "full"], log=False)
    written = json.loads((tmp_path / "ablate" / "ablation.json").read_text())
    assert result == written
    assert {v["name"] for v in result["variants"]} >= {"plain", "full"}


def test_synth_is_deterministic(tmp_path):
    a = heed.synth(tmp_path / "a", rows=2000, seed=5)
    b = heed.synth(tmp_path / "b", rows=2000, seed=5)
    assert a == b and a["train_rows"] + a["valid_rows"] + a["test_rows"] == 2000
    assert (tmp_path / "a" / "train.tsv").read_bytes() == (tmp_path / "b" / "train.tsv").read_bytes()
    subprocess.run([heed_binary(), "synth", "--out", str(tmp_path / "c"), "--rows", "2000", "--seed", "5"],
                   check=True, capture_output=True)
    assert (tmp_path / "a" / "test.tsv").read_bytes() == (tmp_path / "c" / "test.tsv").read_bytes()


def test_prepare_taobao_from_a_synthetic_log(tmp_path):
    log = heed.synth(tmp_path / "log", rows=20000, seed=2, world="shop", format="userbehavior")
    assert log["views"] > 0
    summary = heed.prepare("taobao", tmp_path / "log", tmp_path / "data", test_days=1, valid_days=1)
    assert summary["train_rows"] > 0 and summary["test_rows"] > 0
    assert any(f.endswith("train.tsv") for f in summary["files"])
    with pytest.raises(heed.HeedError, match="no option 'bogus'"):
        heed.prepare("taobao", tmp_path / "log", tmp_path / "x", bogus=1)
    with pytest.raises(heed.HeedError, match="no recipe"):
        heed.prepare("nope", tmp_path / "log", tmp_path / "x")


def test_quickstart_runs(tmp_path):
    import sys
    from conftest import SOURCE

    result = subprocess.run([sys.executable, str(SOURCE / "examples/python/quickstart.py"), "--out", str(tmp_path),
                             "--rows", "4000", "--epochs", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test AUC" in result.stdout and "scores of 5 candidates" in result.stdout
    assert (tmp_path / "explain.html").exists()
