"""heed: click-through-rate models (SENet, DIN, POSO) trained and served by a C++ engine.

The same library as the ``heed`` command line, called in-process::

    import heed
    config = heed.Config.load("examples/synth/config.toml")
    config.set("train.epochs", 3)
    run = heed.train(config, train=train_df, valid="demo/data/valid.tsv", out="runs/py")
    model = run.model                      # or heed.load("runs/py/model")
    scores = model.predict(test_df)        # float32 numpy array, one per row, in order
    model.score(user={"user_id": "7", ...}, candidates=[{"item_id": "3", ...}, ...])

Data arguments take a path (any file `heed` reads) or a pandas DataFrame, read as the TSV
``df.to_csv(path, sep="\\t", index=False)`` would write, except that list values (multi-valued
and sequence fields) join with the feature's separator. Every heed error is a ``heed.HeedError``
(``heed.ParseError`` for bad rows, naming file or DataFrame, row and column). docs/python.md has
the whole guide.
"""
from __future__ import annotations

import copy as _copy
import json as _json
import os as _os
import sys as _sys
import time as _time
from pathlib import Path as _Path
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, Union
from typing import overload as _overload

from . import _heed
from ._heed import HeedError, ParseError, RequestError, TrainingStopped

__all__ = [
    "Config", "Model", "Run", "HeedError", "ParseError", "RequestError", "TrainingStopped",
    "config_keys", "train", "load", "ablate", "synth", "prepare", "__version__",
]
__version__ = _heed.version()
for _error in (HeedError, ParseError, RequestError, TrainingStopped):
    _error.__module__ = "heed"  # tracebacks say heed.ParseError, where users catch it

PathLike = Union[str, "_os.PathLike[str]"]
Data = Any  # a path or a pandas.DataFrame


class Config:
    """A run's configuration: a TOML file with every key checked, as ``heed train`` reads it.

    ``Config.load(path)`` reads a file; ``config.set(key, value)`` changes one key as
    ``--set key=value`` does (``config.set("train.epochs", 3)``); ``str(config)`` is the resolved
    TOML. ``heed.config_keys()`` lists every key with its type, default and help.
    """

    def __init__(self, native: "_heed.Config"):
        self._native = native

    @classmethod
    def load(cls, path: PathLike, overrides: Sequence[str] = ()) -> "Config":
        """Read a TOML config file; ``overrides`` are ``"key=value"`` strings applied in order."""
        return cls(_heed.Config.load(_os.fspath(path), list(overrides)))

    @classmethod
    def parse(cls, text: str, name: str = "config") -> "Config":
        """Read a config from TOML text; ``name`` stands for the file name in messages."""
        return cls(_heed.Config.parse(text, name))

    def set(self, key: str, value: Any) -> "Config":
        """Set one key (``"train.epochs"``, ``"features.age.kind"``) and return the config.

        Values are Python strings, numbers, booleans or lists; an unknown key or a bad value
        raises ``heed.HeedError`` naming it (and the closest key that exists).
        """
        self._native.set(key, value)
        return self

    def get(self, key: str) -> Any:
        """The value of a key of the resolved config (``config.get("train.epochs")``)."""
        import tomllib

        node: Any = tomllib.loads(self.toml())
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(key)
            node = node[part]
        return node

    def copy(self) -> "Config":
        """An independent copy (``set`` on it leaves this one alone)."""
        return Config(_copy.copy(self._native))

    def toml(self) -> str:
        """The resolved config as TOML: every key, defaults filled in."""
        return self._native.toml()

    __str__ = toml

    def __repr__(self) -> str:
        return f"<heed.Config: {len(self.toml().splitlines())} lines of TOML>"


def config_keys() -> List[Dict[str, str]]:
    """Every config key as ``{"key", "type", "default", "help"}`` (``heed config --keys``)."""
    return list(_heed.config_keys())


def _is_dataframe(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and type(data).__name__ == "DataFrame"


def _table(config: "_heed.Config", data: Any, name: str, hash_lists: bool = True) -> "_heed.FrameTable":
    """A DataFrame as the engine's text table (cells as to_csv writes them; lists hashed as they
    are read, or with ``hash_lists=False`` joined, for explain's raw values). ``name``: the
    training split (whose rows the validation carve by row reads as lines) or the read."""
    import pandas as pd

    columns, arrays = [], []
    # By position: a name may repeat (a sequence laid out one value per column), which the engine
    # reads as a file header that repeats it.
    for position, column in enumerate(data.columns):
        series = data.iloc[:, position]
        columns.append(str(column))
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories
            arrays.append(("categorical", series.cat.codes.to_numpy(), categories.to_numpy(dtype=object)))
        elif dtype.kind in "iufbO" and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            arrays.append(series.to_numpy())
        else:  # nullable integers, strings, dates: their Python values (pd.NA is empty)
            arrays.append(series.to_numpy(dtype=object))
    return _heed.FrameTable(config, f"{name} DataFrame", columns, arrays, hash_lists, name == "train")


def _rows(config: "_heed.Config", data: Any, name: str, hash_lists: bool = True):
    """('file', path) or ('table', FrameTable) for a data argument."""
    if _is_dataframe(data):
        return "table", _table(config, data, name, hash_lists)
    if isinstance(data, (str, _os.PathLike)):
        return "file", _os.fspath(data)
    raise TypeError(f"{name}: expected a path or a pandas DataFrame, not {type(data).__name__}")


class Model:
    """A trained model (a run's ``model`` file), loaded once and safe to share between threads.

    ``predict`` and ``evaluate`` read rows as ``heed predict`` and ``heed eval`` do; ``score``
    answers like ``POST /v1/score``. Every call releases the GIL while heed works, so several
    Python threads score at once.
    """

    def __init__(self, path: PathLike):
        self._native = _heed.Model(_os.fspath(path))
        self.path = _os.fspath(path)

    @property
    def config(self) -> Config:
        """The config the model was trained with (resolved)."""
        return Config(self._native.config)

    @property
    def fields(self) -> List[str]:
        """The data columns the model reads (the fields of ``score``'s user and candidates)."""
        return list(self._native.fields)

    @property
    def meta(self) -> Dict[str, Any]:
        """The model file's metadata (heed version, training time, epoch, ...)."""
        return _json.loads(self._native.meta)

    def predict(self, data: Data, threads: int = 0) -> "numpy.ndarray":
        """Click probability of every row, in order, as a float32 array (``heed predict``).

        ``data``: a path or a DataFrame holding the model's feature columns (a label column may
        be absent). ``threads``: 0 uses every core. A bad row raises ``heed.ParseError``.
        """
        kind, rows = _rows(self._native.config, data, "predict")
        if kind == "file":
            return self._native.predict_file(rows, threads)
        return self._native.predict_table(rows, threads)

    def evaluate(self, data: Data, threads: int = 0) -> Dict[str, Any]:
        """Metrics on labeled rows (AUC, gAUC, logloss, calibration, per slice): ``heed eval``."""
        kind, rows = _rows(self._native.config, data, "evaluate")
        text = self._native.evaluate_file(rows, threads) if kind == "file" else self._native.evaluate_table(rows, threads)
        return _json.loads(text)

    @_overload
    def score(self, user: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]], *,
              explain: Literal[False] = False, max_candidates: int = 1000, max_values: int = 1000,
              max_string_bytes: int = 1 << 16) -> "numpy.ndarray": ...

    @_overload
    def score(self, user: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]], *,
              explain: Literal[True], max_candidates: int = 1000, max_values: int = 1000,
              max_string_bytes: int = 1 << 16) -> Tuple["numpy.ndarray", Dict[str, Any]]: ...

    def score(self, user, candidates, *, explain=False, max_candidates=1000, max_values=1000,
              max_string_bytes=1 << 16):
        """Scores of one user's candidates, as ``POST /v1/score`` answers (float32, in order).

        ``user`` holds the fields every candidate shares, each candidate the others; every
        field of the model is given once (``model.fields`` lists them). A value is what the
        training file's cell held: a string; a list of strings for multi-valued and sequence
        fields; a number for numeric fields; an integer for any field; None for an empty cell.
        The server's limits apply (``heed serve``'s defaults); a bad request raises
        ``heed.RequestError`` with the server's message.

        ``explain=True`` (the request's ``"explain": true``) returns ``(scores, explanation)``:
        ``explanation`` is the dict the server answers under ``"explain"``, with per DIN
        attention (keyed by its history feature) each candidate's weight on each history item,
        and SENet's ``axis``, gated ``fields`` and each candidate's ``weights``.
        """
        request: Dict[str, Any] = {"user": dict(user), "candidates": [dict(c) for c in candidates]}
        if explain:
            request["explain"] = True
        body = _json.dumps(request, default=_json_value)
        scores, explanation = self._native.score(body, max_candidates, max_values, max_string_bytes)
        if explain:
            return scores, _json.loads(explanation)
        return scores

    def explain(self, data: Data, *, rows: int = 20000, samples: int = 8, shuffles: int = 3, seed: int = 1,
                threads: int = 0) -> Dict[str, Any]:
        """What SENet, DIN and POSO learned, measured on ``data``: ``heed explain``'s report.json.

        ``data``: a path or a DataFrame, read in memory (the report shows its cells as the TSV
        it stands for holds them, and names it "explain DataFrame"). ``rows``: rows explained
        (evenly spaced; 0: all); ``samples``: rows shown per DIN attention; ``shuffles``:
        permutation-importance shuffles per field (0: none).
        """
        return _json.loads(self._explain(data, rows, samples, shuffles, seed, threads)[0])

    def explain_html(self, data: Data, path: PathLike, *, rows: int = 20000, samples: int = 8, shuffles: int = 3,
                     seed: int = 1, threads: int = 0) -> Dict[str, Any]:
        """Write ``heed explain``'s page to ``path`` (its JSON beside it) and return the JSON."""
        text, html = self._explain(data, rows, samples, shuffles, seed, threads)
        page = _Path(path)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(html, encoding="utf-8")
        numbers = page.with_suffix(".json") if page.suffix != ".json" else page.with_name(page.name + ".json")
        numbers.write_text(_json.dumps(_json.loads(text), indent=2) + "\n", encoding="utf-8")
        return _json.loads(text)

    def _explain(self, data, rows, samples, shuffles, seed, threads):
        kind, source = _rows(self._native.config, data, "explain", hash_lists=False)
        method = self._native.explain_file if kind == "file" else self._native.explain_table
        return method(source, rows, samples, shuffles, seed, threads)

    def __repr__(self) -> str:
        return f"<heed.Model {self.path}>"


def _json_value(value: Any) -> Any:
    """numpy scalars and arrays inside score()'s dicts, as JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a value of type {type(value).__name__} cannot be scored")


class Run:
    """A finished training run: ``metrics`` (metrics.json), ``model`` and the run folder."""

    def __init__(self, folder: PathLike, metrics: Dict[str, Any]):
        self.folder = _os.fspath(folder)
        self.metrics = metrics
        self._model: Optional[Model] = None

    @property
    def model(self) -> Model:
        """The kept model (best validation epoch), loaded on first use."""
        if self._model is None:
            self._model = Model(_os.path.join(self.folder, "model"))
        return self._model

    def __repr__(self) -> str:
        test = self.metrics.get("test", {})
        auc = test.get("auc") if isinstance(test, dict) else None
        return f"<heed.Run {self.folder}" + (f" test auc {auc:.5f}>" if isinstance(auc, float) else ">")


def _notebook_display() -> Optional[Callable[..., Any]]:
    """IPython's ``display`` when this runs in a Jupyter kernel (or any IPython kernel: VS Code,
    Colab), else None: a terminal, or a terminal IPython, shows the engine's own bar."""
    ipython = _sys.modules.get("IPython")  # a kernel has imported it; nothing else needs to
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
        if shell is None or getattr(shell, "kernel", None) is None:  # no kernel: a terminal
            return None
        from IPython.display import display
    except Exception:  # an IPython without what is needed: the terminal's display
        return None
    return display


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _ProgressView:
    """What the notebook shows: the finished epochs' lines, then a bar and the current epoch.
    Jupyter renders ``_repr_html_``; a front end without HTML shows ``repr``."""

    def __init__(self, done: List[str], share: Optional[float], now: str):
        self.done, self.share, self.now = done, share, now

    def _repr_html_(self) -> str:
        lines = "".join(f"<div>{_html(line)}</div>" for line in self.done)
        bar = ""
        if self.now:
            value = f' value="{self.share:.4f}" max="1"' if self.share is not None else ""  # no size yet: moving
            bar = (f'<div><progress{value} style="width: 20em; vertical-align: middle"></progress> '
                   f"{_html(self.now)}</div>")
        return f'<div class="heed-progress" style="font-family: monospace">{lines}{bar}</div>'

    def __repr__(self) -> str:
        return "\n".join(self.done + ([self.now] if self.now else []))


class _NotebookProgress:
    """The default display in a notebook: one output under the cell that updates in place."""

    def __init__(self, display: Callable[..., Any]):
        self._epochs: List[str] = []
        self._started = _time.monotonic()
        self._handle = display(_ProgressView([], 0.0, "heed: starting"), display_id=True)

    def __call__(self, news: Dict[str, Any]) -> None:
        if news["epoch_end"] is not None:
            e = news["epoch_end"]
            line = f"epoch {e['epoch']}: train logloss {e['train_logloss']:.5f}"
            if isinstance(e.get("valid"), dict):
                line += f", valid auc {e['valid'].get('auc', float('nan')):.5f}"
            self._epochs.append(line)
        total = news["rows_per_epoch"]
        share = min(1.0, news["rows"] / total) if total else None
        rate = news["rows"] / max(_time.monotonic() - self._started, 1e-9)
        done = f"{100 * share:.0f}%" if share is not None else f"{news['rows']:,} rows"
        now = f"epoch {news['epoch']}/{news['epochs']}: {done}, logloss {news['train_logloss']:.5f}, {rate:,.0f} rows/s"
        self._handle.update(_ProgressView(list(self._epochs), share, now))
        if news["epoch_end"] is not None:
            self._started = _time.monotonic()

    def finish(self, metrics: Dict[str, Any]) -> None:
        """The finished run: its epochs, and the test AUC when there is one."""
        test = metrics.get("test")
        last = f"done: test auc {test['auc']:.5f}" if isinstance(test, dict) and "auc" in test else "done"
        self._handle.update(_ProgressView(self._epochs + [last], None, ""))


def train(config: Config, train: Optional[Data] = None, valid: Optional[Data] = None, test: Optional[Data] = None, *,
          out: PathLike, resume: bool = False, overwrite: bool = False,
          progress: Union[None, bool, Callable[[Dict[str, Any]], Optional[bool]]] = None,
          progress_interval: float = 0.5) -> Run:
    """Train a model as ``heed train`` does and return the finished ``Run``.

    ``train``, ``valid``, ``test``: a path or a pandas DataFrame each (None: the config's
    data.train / data.valid / data.test). DataFrames are read without temporary files, as the
    TSV ``df.to_csv(sep="\\t", index=False)`` would be (lists joined by the feature's separator);
    paths and DataFrames cannot be mixed in one call. ``out``: the run folder (model, checkpoint,
    metrics.json, config.toml); a folder that already holds a run needs ``resume=True`` (continue
    from its checkpoint) or ``overwrite=True``.

    ``progress``: None shows progress as the terminal or notebook allows (the engine's bar on a
    terminal; in a Jupyter notebook, or any IPython kernel, a bar and the finished epochs under
    the cell, updated in place); False shows nothing; a callable gets a dict
    (epoch, epochs, step, rows, rows_per_epoch, train_logloss, epoch_end: the epoch's history
    entry at its end, else None) at most every ``progress_interval`` seconds and after each
    epoch, and stops training by returning False (``heed.TrainingStopped``).

    Ctrl-C stops training at the next batch and raises KeyboardInterrupt after writing a
    checkpoint that ``resume=True`` continues from. The GIL is released while training.
    """
    native = _copy.copy(config._native)
    out = _os.fspath(out)
    if not resume and not overwrite and any(_os.path.exists(_os.path.join(out, f))
                                            for f in ("model", "checkpoint", "metrics.json")):
        raise HeedError(f"{out} already holds a run (model, checkpoint or metrics.json); continue it with "
                        f"resume=True, or replace it with overwrite=True")
    if overwrite and not resume:
        for f in ("metrics.json", "model"):
            try:
                _os.remove(_os.path.join(out, f))
            except FileNotFoundError:
                pass
    given = {"train": train, "valid": valid, "test": test}
    frames = {k: v for k, v in given.items() if v is not None and _is_dataframe(v)}
    paths = {k: v for k, v in given.items() if v is not None and not _is_dataframe(v)}
    if frames and paths:
        raise TypeError("train(): give every split as a DataFrame or every split as a path, not both")
    tables = {}
    if frames:
        if "train" not in frames:
            raise TypeError("train(): with DataFrames, train= is one too")
        # The splits' names in messages and metrics.json; the rows come from the tables.
        for split in ("train", "valid", "test"):
            native.set(f"data.{split}", f"{split} DataFrame" if split in frames else "")
        tables = {k: _table(native, v, k) for k, v in frames.items()}
    for split, path in paths.items():
        if not isinstance(path, (str, _os.PathLike)):
            raise TypeError(f"train(): {split} must be a path or a pandas DataFrame, not {type(path).__name__}")
        native.set(f"data.{split}", _os.path.abspath(_os.fspath(path)))
    callback = None
    if progress is False:
        native.set("train.progress", "none")
    elif callable(progress):
        callback = progress
    elif progress is None:
        display = _notebook_display()
        if display is not None:
            native.set("train.progress", "none")  # the engine's display goes to the terminal, not the notebook
            callback = _NotebookProgress(display)
    metrics = _json.loads(_heed.train(native, out, resume, tables, callback, progress_interval))
    if isinstance(callback, _NotebookProgress):
        callback.finish(metrics)
    return Run(out, metrics)


def load(path: PathLike) -> Model:
    """Load a model file (``RUN/model``) for predict, evaluate, score and explain."""
    return Model(path)


def ablate(config: Config, *, out: PathLike, seeds: Union[int, Sequence[int]] = 3,
           variants: Optional[Sequence[str]] = None, reference: str = "plain", slice: str = "",
           threads: Optional[int] = None, log: bool = True) -> Dict[str, Any]:
    """Which modules help: ``heed ablate``. Trains the plain model, each module alone, the full
    model minus each module and the full model over ``seeds`` (a count: seeds 1..N, or a list),
    reading the config's data files, and returns ablation.json's content (the reports are
    written to ``out``). Running it again with the same ``out`` reuses finished runs.
    """
    seed_list = list(range(1, seeds + 1)) if isinstance(seeds, int) else [int(s) for s in seeds]
    text = _heed.ablate(config._native, _os.fspath(out), seed_list, list(variants or []), reference, slice,
                        threads, log)
    return _json.loads(text)


def synth(out: PathLike, rows: Optional[int] = None, seed: int = 1, *, world: str = "demo",
          max_history: int = 50, format: str = "next-item") -> Dict[str, Any]:
    """Generate demo data (``heed synth``): train.tsv, valid.tsv, test.tsv and synth.json in
    ``out``. ``world="shop"`` writes the browsing log's next-item task (``rows``: events), or
    with ``format="userbehavior"`` the log itself as Taobao's UserBehavior.csv (for
    ``prepare("taobao", ...)``). Returns the row counts and the planted probability's own AUC.
    """
    return dict(_heed.synth(_os.fspath(out), rows, seed, world, max_history, format))


def prepare(recipe: str, source: PathLike, out: PathLike, **options: Any) -> Dict[str, Any]:
    """Turn a public dataset's files into heed's TSVs (``heed prepare RECIPE``).

    ``recipe``: ml-100k, ml-1m, frappe, criteo, avazu or taobao. ``options`` are the recipe's
    command-line options with underscores (``split="u1"``, ``task="next-item"``,
    ``valid_fraction=0.1``, ...). Returns the rows written per split, the files and notes.
    """
    return dict(_heed.prepare(recipe, _os.fspath(source), _os.fspath(out), options))
