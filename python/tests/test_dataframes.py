"""How DataFrame cells become the text heed reads: as to_csv(sep="\\t") writes them."""
import io

import numpy as np
import pandas as pd
import pytest

import heed
from conftest import SOURCE


@pytest.fixture(scope="module")
def config():
    text = """
[data]
label = "label"
[features.name]
[features.count]
[features.price]
kind = "numeric"
[features.tags]
kind = "multi"
[features.seen]
kind = "sequence"
"""
    return heed.Config.parse(text, "edge.toml")


def cells(config, df):
    # Read as a training split: under `config`'s validation carve by row its lists keep their text.
    table = heed._table(config._native, df, "train")
    return [[table.cell(c, r) for c in range(len(df.columns))] for r in range(table.rows)]


def csv_cells(df):
    text = df.to_csv(sep="\t", index=False)
    return [line.split("\t") for line in text.splitlines()[1:]]


def test_scalar_columns_read_as_to_csv_writes_them(config):
    df = pd.DataFrame({
        "ints": [1, -2, 30000000000],
        "floats": [0.5, np.nan, 1e-05],
        "big": [1e16, 123456789012345.0, -0.0],
        "small": [0.0001, 2.5e-7, 3.0],
        "f32": np.array([0.1, 1.5, np.nan], dtype=np.float32),
        "bools": [True, False, True],
        "text": ["a", "", "ünï"],
        "missing": ["x", None, np.nan],
        "mixed": [1, "b", 2.5],
        "nullable": pd.array([1, None, 3], dtype="Int64"),
        "strings": pd.array(["p", None, "r"], dtype="string"),
        "category": pd.Categorical(["u", None, "u"]),
        "int_category": pd.Categorical([10, 20, 10]),
        "uint": np.array([1, 2, 3], dtype=np.uint8),
    })
    assert cells(config, df) == csv_cells(df)


def test_lists_join_with_the_features_separator(config):
    df = pd.DataFrame({"tags": [["a", "b"], [], ("c",), np.array(["d", "e"])], "seen": [[1, 2], [], [3], ["x"]]})
    assert cells(config, df) == [["a|b", "1|2"], ["", ""], ["c", "3"], ["d|e", "x"]]


def test_a_list_where_one_value_is_read_is_an_error(config):
    df = pd.DataFrame({"name": ["a", ["b", "c"]]})
    with pytest.raises(heed.HeedError, match=r"row 2, column 'name' holds a list, but feature 'name'"):
        cells(config, df)


def test_a_list_value_holding_the_separator_is_an_error(config):
    df = pd.DataFrame({"tags": [["a|b"]]})
    with pytest.raises(heed.HeedError, match="separator"):
        cells(config, df)


def test_empty_frame_has_no_rows(config):
    df = pd.DataFrame({"name": pd.Series([], dtype=object)})
    assert cells(config, df) == []


def test_lists_and_joined_cells_side_by_side(config):
    # A multi feature's column: lists, cells already joined, and missing values, side by side.
    df = pd.DataFrame({"tags": [["a", "b"], "c|d", None, "", ["", "e"], np.array(["f"])],
                       "name": ["x", "y", "z", "w", "v", "u"]})
    assert cells(config, df) == [["a|b", "x"], ["c|d", "y"], ["", "z"], ["", "w"], ["|e", "v"], ["f", "u"]]


# A config whose rows are never read as lines (a validation file, no carve by row): every list is
# hashed as it is read, and its cell keeps text only where the row parser must check it.
@pytest.fixture(scope="module")
def hashing_config(config):
    return config.copy().set("data.valid", "valid.tsv")


def test_lists_come_hashed_and_keep_text_only_where_the_parser_checks_it(hashing_config):
    df = pd.DataFrame({
        "tags": [["a", "b"], ["ü", "x"], [1, 2], ("c",), ["a", "b\x00"], ["", "d"], [], "e|f", None],
        "name": ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"],
    })
    assert cells(hashing_config, df) == [
        ["", "n1"],
        ["ü|x", "n2"],       # not ASCII: the row is checked as a line
        ["", "n3"],          # numbers, a tuple, a joined cell, a missing one: hashed as their text
        ["", "n4"],
        ["a|b\x00", "n5"],  # a NUL byte: the row parser's error
        ["", "n6"],
        ["", "n7"],
        ["", "n8"],
        ["", "n9"],
    ]
    assert cells(hashing_config.copy().set("data.max_field_bytes", 2), df.head(1)) == [["a|b", "n1"]]


def test_a_row_not_plain_ascii_has_its_hashed_lists_joined(hashing_config):
    # The parser checks such a row as a line; its messages count bytes along the whole line.
    df = pd.DataFrame({"tags": [["a", "b"], ["c", "d"]], "seen": [["s"], ["t"]], "name": ["x", "ü"]})
    assert cells(hashing_config, df) == [["", "", "x"], ["c|d", "t", "ü"]]


def test_a_hashed_list_value_holding_the_separator_is_the_same_error(config, hashing_config):
    df = pd.DataFrame({"tags": [["a", "b"], ["c|d"]]})
    messages = []
    for each in (config, hashing_config):
        with pytest.raises(heed.HeedError, match="separator") as error:
            cells(each, df)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_only_a_carved_training_split_keeps_its_lists_text(config):
    # The edge config carves validation rows from train by each row's line: the "train" table
    # keeps its lists' text for that hash; a table read for anything else hashes them.
    df = pd.DataFrame({"tags": [["a", "b"]], "name": ["x"]})
    for name, expected in (("train", "a|b"), ("predict", ""), ("evaluate", ""), ("test", "")):
        table = heed._table(config._native, df, name)
        assert table.cell(0, 0) == expected, name
