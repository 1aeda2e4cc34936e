"""Training from DataFrames, the progress callback, stopping and Ctrl-C."""
import _thread
import json
import os
import threading

import numpy as np
import pandas as pd
import pytest

import heed
from conftest import read_frame, small_config, write_frame


def comparable(metrics):
    """metrics.json without what depends on the clock or on how the splits were named."""
    out = json.loads(json.dumps(metrics))
    for entry in out["history"]:
        entry.pop("seconds"), entry.pop("samples_per_second")
    return out


def typed_frame(path):
    """A demo split with numbers as numbers: ints, floats and lists, as a user's DataFrame holds them."""
    df = read_frame(path)
    df["hour"] = df["hour"].astype(int)
    df["age"] = df["age"].astype("category")
    return df


def test_dataframes_train_as_the_tsv_they_were_written_to(data_dir, tmp_path):
    frames = {s: typed_frame(data_dir / f"{s}.tsv") for s in ("train", "valid", "test")}
    for split, df in frames.items():
        write_frame(df, tmp_path / f"{split}.tsv")
    config = small_config(data_dir)
    from_files = heed.train(config, train=tmp_path / "train.tsv", valid=tmp_path / "valid.tsv",
                            test=tmp_path / "test.tsv", out=tmp_path / "files", progress=False)
    from_frames = heed.train(config, train=frames["train"], valid=frames["valid"], test=frames["test"],
                             out=tmp_path / "frames", progress=False)
    assert comparable(from_frames.metrics) == comparable(from_files.metrics)
    np.testing.assert_array_equal(from_frames.model.predict(frames["test"]), from_files.model.predict(frames["test"]))


def test_validation_carve_from_a_dataframe_matches_the_file(data_dir, tmp_path):
    df = typed_frame(data_dir / "train.tsv")
    write_frame(df, tmp_path / "train.tsv")
    config = small_config(data_dir).set("data.valid_fraction", 0.2).set("train.epochs", 1)
    config.set("data.valid", "").set("data.test", "")
    a = heed.train(config, train=tmp_path / "train.tsv", out=tmp_path / "a", progress=False)
    b = heed.train(config, train=df, out=tmp_path / "b", progress=False)
    assert comparable(a.metrics) == comparable(b.metrics)
    assert a.metrics["valid"]["rows"] > 0


def test_an_existing_run_needs_resume_or_overwrite(run, data_dir):
    with pytest.raises(heed.HeedError, match="already holds a run"):
        heed.train(small_config(data_dir), out=run.folder, progress=False)


def test_progress_callback_sees_batches_and_epochs(config, tmp_path):
    news = []
    heed.train(config, out=tmp_path / "run", progress=news.append, progress_interval=0)
    batches = [n for n in news if n["epoch_end"] is None]
    ends = [n for n in news if n["epoch_end"] is not None]
    assert len(ends) == 2 and [e["epoch_end"]["epoch"] for e in ends] == [1, 2]
    assert batches and all(0 < n["rows"] for n in batches)
    assert batches[-1]["step"] > batches[0]["step"]


def test_callback_returning_false_stops_with_a_resumable_checkpoint(config, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(heed.TrainingStopped, match="resumes it"):
        heed.train(config, out=out, progress=lambda n: n["step"] < 3, progress_interval=0)
    assert (out / "checkpoint").exists() and not (out / "metrics.json").exists()
    finished = heed.train(config, out=out, resume=True, progress=False)
    assert finished.metrics["epochs_run"] == 2


def test_an_exception_in_the_callback_propagates(config, tmp_path):
    def fail(news):
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        heed.train(config, out=tmp_path / "run", progress=fail, progress_interval=0)


def test_ctrl_c_stops_at_the_next_batch_and_resumes(config, tmp_path):
    """Ctrl-C (SIGINT to the main thread, whose handler raises KeyboardInterrupt) while the engine trains."""
    out = tmp_path / "run"
    config.set("train.epochs", 200)
    started = threading.Event()
    steps = []
    timer = threading.Thread(target=lambda: (started.wait(), _thread.interrupt_main()))
    timer.start()

    def watch(news):
        steps.append(news["step"])
        started.set()

    with pytest.raises(KeyboardInterrupt) as interrupt:
        heed.train(config, out=out, progress=watch, progress_interval=0.05)
    timer.join()
    assert "resumes it" in str(interrupt.value)
    assert (out / "checkpoint").exists() and not (out / "metrics.json").exists()
    # The checkpoint continues from where Ctrl-C stopped: the resumed run's first step follows it.
    resumed = []
    with pytest.raises(heed.TrainingStopped):
        heed.train(config, out=out, resume=True, progress=lambda n: resumed.append(n["step"]) or len(resumed) < 2,
                   progress_interval=0)
    assert resumed[0] > steps[-1]


def test_dataframe_training_needs_a_train_frame(config, data_dir, tmp_path):
    df = read_frame(data_dir / "valid.tsv")
    with pytest.raises(TypeError):
        heed.train(config, valid=df, out=tmp_path / "x")
    with pytest.raises(TypeError):
        heed.train(config, train=df, valid=data_dir / "valid.tsv", out=tmp_path / "y")
