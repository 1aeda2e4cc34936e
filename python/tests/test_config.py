import subprocess
import sys

import pytest

import heed
from conftest import SOURCE


def test_load_set_get():
    config = heed.Config.load(SOURCE / "examples/synth/config.toml")
    assert config.get("train.epochs") == 4
    config.set("train.epochs", 3).set("model.hidden", [64, 32]).set("senet.enabled", False)
    assert config.get("train.epochs") == 3
    assert config.get("model.hidden") == [64, 32]
    assert config.get("senet.enabled") is False
    assert "epochs = 3" in str(config)


def test_copy_is_independent():
    config = heed.Config.load(SOURCE / "examples/synth/config.toml")
    other = config.copy().set("train.epochs", 9)
    assert config.get("train.epochs") == 4 and other.get("train.epochs") == 9


def test_unknown_key_names_the_closest():
    config = heed.Config.load(SOURCE / "examples/synth/config.toml")
    with pytest.raises(heed.HeedError, match="train.epochs"):
        config.set("train.epoch", 3)


def test_bad_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepochs = \"three\"\n")
    with pytest.raises(heed.HeedError) as error:
        heed.Config.load(bad)
    assert str(bad) in str(error.value) and "epochs" in str(error.value)


def test_config_keys_lists_every_key():
    keys = {k["key"]: k for k in heed.config_keys()}
    assert "train.epochs" in keys and keys["train.epochs"]["default"]
    assert any(k.startswith("features.NAME.") for k in keys)
    assert all(k["help"] for k in keys.values())


def test_import_prints_nothing():
    result = subprocess.run([sys.executable, "-c", "import heed"], capture_output=True, text=True, check=True)
    assert result.stdout == "" and result.stderr == ""


def test_help_is_useful():
    for function in (heed.train, heed.load, heed.ablate, heed.synth, heed.prepare, heed.config_keys,
                     heed.Model.predict, heed.Model.score, heed.Model.evaluate, heed.Model.explain,
                     heed.Config.load, heed.Config.set):
        assert function.__doc__ and len(function.__doc__) > 40, function
    assert "KeyboardInterrupt" in heed.train.__doc__ and "DataFrame" in heed.train.__doc__
