"""A NUL byte in a DataFrame's string cell is what it is in the TSV line the DataFrame stands
for: the same error, naming the DataFrame and row where the file names itself and line, or a
row skipped and counted under data.on_error = "skip"."""
from pathlib import Path

import pytest

import heed
from conftest import read_frame, small_config, write_frame

ROW = 4  # df.iloc[4]: DataFrame row 5, line 6 of the file (after the header)


def with_nul(df, column, value):
    out = df.copy()
    out.at[out.index[ROW], column] = value
    return out


def same_message(frame_error, file_error, file, name):
    """The file's message with the DataFrame's name and row for the file's name and line."""
    expected = str(file_error.value).replace(f"{file}:{ROW + 2}:", f"{name} DataFrame:{ROW + 1}:")
    assert str(frame_error.value) == expected
    assert "a NUL byte" in expected


def small_frames(data_dir):
    return {split: read_frame(data_dir / f"{split}.tsv").head(rows)
            for split, rows in (("train", 2000), ("valid", 500), ("test", 500))}


@pytest.mark.parametrize("column, value", [("user_id", "u1\x002"), ("hist_item_ids", ["i1", "i\x002", "i3"])])
def test_predict_evaluate_and_explain_refuse_it_as_the_file(run, data_dir, tmp_path, column, value):
    df = with_nul(read_frame(data_dir / "test.tsv").head(20), column, value)
    bad = tmp_path / "bad.tsv"
    write_frame(df, bad)
    model = run.model
    for name, read in (("predict", model.predict), ("evaluate", model.evaluate),
                       ("explain", lambda rows: model.explain(rows, rows=10, shuffles=0))):
        with pytest.raises(heed.ParseError) as from_file:
            read(bad)
        with pytest.raises(heed.ParseError) as from_frame:
            read(df)
        same_message(from_frame, from_file, bad, name)


def test_training_refuses_it_as_the_file(data_dir, tmp_path):
    frames = small_frames(data_dir)
    frames["train"] = with_nul(frames["train"], "item_id", "i\x00")
    for split, df in frames.items():
        write_frame(df, tmp_path / f"{split}.tsv")
    config = small_config(data_dir).set("train.epochs", 1)
    with pytest.raises(heed.ParseError) as from_file:
        heed.train(config, **{s: tmp_path / f"{s}.tsv" for s in frames}, out=tmp_path / "files", progress=False)
    with pytest.raises(heed.ParseError) as from_frame:
        heed.train(config, **frames, out=tmp_path / "frames", progress=False)
    same_message(from_frame, from_file, tmp_path / "train.tsv", "train")


def test_under_skip_the_row_is_skipped_and_counted_as_the_file(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # evaluate writes rejected_eval.txt where it runs, as heed eval
    frames = small_frames(data_dir)
    frames["train"] = with_nul(frames["train"], "item_id", "i\x00")
    frames["test"] = with_nul(frames["test"], "hist_item_ids", ["i1", "i\x002"])
    for split, df in frames.items():
        write_frame(df, tmp_path / f"{split}.tsv")
    config = small_config(data_dir).set("train.epochs", 1).set("data.on_error", "skip")
    from_files = heed.train(config, **{s: tmp_path / f"{s}.tsv" for s in frames}, out=tmp_path / "files",
                            progress=False)
    from_frames = heed.train(config, **frames, out=tmp_path / "frames", progress=False)
    assert from_frames.metrics["train_rows"] == from_files.metrics["train_rows"] == len(frames["train"]) - 1
    assert from_frames.metrics["test"] == from_files.metrics["test"]
    assert from_frames.metrics["test"]["rows"] == len(frames["test"]) - 1
    for run in (from_files, from_frames):
        assert "NUL byte" in (Path(run.folder) / "rejected_train.txt").read_text()
    # evaluate reads as heed eval: the row skipped; predict and explain read every row (one
    # score per row), so the row is an error there, as for the file.
    model = from_frames.model
    assert model.evaluate(frames["test"]) == model.evaluate(tmp_path / "test.tsv")
    assert model.evaluate(frames["test"])["rows"] == len(frames["test"]) - 1
    assert "NUL byte" in (tmp_path / "rejected_eval.txt").read_text()
    for read in (model.predict, lambda rows: model.explain(rows, rows=10, shuffles=0)):
        with pytest.raises(heed.ParseError, match="a NUL byte"):
            read(tmp_path / "test.tsv")
        with pytest.raises(heed.ParseError, match=rf"DataFrame:{ROW + 1}: .*a NUL byte"):
            read(frames["test"])
