"""Shared fixtures: a small demo dataset (heed.synth), a config that trains on it in seconds, and
one run trained from its files. Run with Debian's interpreter (/usr/bin/python3 -m pytest), with
the built package on PYTHONPATH (ctest's python_tests sets it: <build>/python)."""
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import heed

SOURCE = Path(os.environ.get("HEED_SOURCE_DIR", Path(__file__).resolve().parents[2]))


def heed_binary():
    """The CLI built beside the module (HEED_BINARY, set by ctest), for parity checks."""
    path = os.environ.get("HEED_BINARY") or shutil.which("heed")
    if not path or not os.path.exists(path):
        pytest.skip("the heed command line is not built (HEED_BINARY)")
    return path


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "data"
    summary = heed.synth(out, rows=20000, seed=3)
    assert summary["train_rows"] > 0
    return out


def small_config(data_dir, **extra):
    config = heed.Config.load(SOURCE / "examples/synth/config.toml")
    config.set("data.dir", str(data_dir))
    config.set("train.epochs", 2)
    config.set("train.threads", 2)
    config.set("train.progress", "none")
    for key, value in extra.items():
        config.set(key.replace("__", "."), value)
    return config


@pytest.fixture
def config(data_dir):
    return small_config(data_dir)


@pytest.fixture(scope="session")
def run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "files"
    return heed.train(small_config(data_dir), out=out, progress=False)


def read_frame(path):
    """A demo TSV as typed columns: numbers where the file has them, lists for the list fields."""
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in ("item_tags", "hist_item_ids", "hist_categories"):
        df[column] = [cell.split("|") if cell else [] for cell in df[column]]
    df["label"] = df["label"].astype(int)
    return df


def write_frame(df, path):
    """A DataFrame as the TSV it stands for: lists joined by '|', the rest as to_csv writes it."""
    out = df.copy()
    is_list = lambda v: isinstance(v, (list, tuple, np.ndarray))  # noqa: E731
    for column in out.columns:
        if out[column].map(is_list).any():
            out[column] = out[column].map(lambda v: "|".join(map(str, v)) if is_list(v) else v)
    out.to_csv(path, sep="\t", index=False)
