"""heed.train's default display in a notebook: an IPython kernel is detected and shown an
updating display; anywhere else the engine's terminal display stays. IPython itself is faked
(sys.modules), so the test runs where it is not installed."""
import sys
import types

import pytest

import heed


class FakeHandle:
    def __init__(self, first):
        self.shown = [first]

    def update(self, obj):
        self.shown.append(obj)


def fake_ipython(monkeypatch, shell):
    """An `IPython` module whose get_ipython() returns `shell`, and its display module."""
    handles = []

    def display(obj, display_id=False):
        assert display_id is True  # an updatable display
        handles.append(FakeHandle(obj))
        return handles[-1]

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    display_module = types.ModuleType("IPython.display")
    display_module.display = display
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return handles


class KernelShell:  # what a Jupyter kernel's shell has: its kernel
    kernel = object()


class TerminalShell:  # a terminal IPython: no kernel
    pass


def test_a_kernel_gets_an_updating_display(monkeypatch, config, tmp_path, capfd):
    handles = fake_ipython(monkeypatch, KernelShell())
    config.set("train.progress", "bar")  # a notebook's display replaces the engine's bar
    run = heed.train(config, out=tmp_path / "run", progress_interval=0)
    assert len(handles) == 1
    shown = handles[0].shown
    assert len(shown) > 3  # the first view, updates during both epochs, the end
    during = [v for v in shown[1:-1] if "epoch 2/2" in repr(v)]
    assert during and "<progress" in during[-1]._repr_html_()
    assert 'value="1.0000"' in shown[-2]._repr_html_()  # the last epoch's end: a full bar
    last = repr(shown[-1])
    assert "epoch 1: train logloss" in last and "epoch 2: train logloss" in last and "valid auc" in last
    assert f"done: test auc {run.metrics['test']['auc']:.5f}" in last
    assert "<progress" not in shown[-1]._repr_html_()
    assert "epoch 1: train logloss" not in capfd.readouterr().err  # no terminal display beside it


def test_html_is_escaped(monkeypatch):
    view = heed._ProgressView(["<b>&"], 0.5, "a<b")
    assert "&lt;b&gt;&amp;" in view._repr_html_() and "a&lt;b" in view._repr_html_()


@pytest.mark.parametrize("shell", [TerminalShell(), None])
def test_outside_a_kernel_the_terminal_display_stays(monkeypatch, config, tmp_path, capfd, shell):
    handles = fake_ipython(monkeypatch, shell)
    config.set("train.progress", "bar")
    heed.train(config, out=tmp_path / "run")
    assert handles == []
    assert "epoch 1: train logloss" in capfd.readouterr().err  # the engine's display


def test_a_kernel_without_ipython_display_falls_back_to_the_terminal(monkeypatch, config, tmp_path, capfd):
    fake_ipython(monkeypatch, KernelShell())
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # import fails
    config.set("train.progress", "bar")
    heed.train(config, out=tmp_path / "run")
    assert "epoch 1: train logloss" in capfd.readouterr().err
