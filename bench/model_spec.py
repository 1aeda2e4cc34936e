"""The reference model as both engines see it, read from one heed config.

bench/configs/reference.toml (plus a variant's --set toggles from variants.toml) is resolved by
`heed config`, which writes every key with its value; ModelSpec reads that resolved file, so the
PyTorch twin takes every size and option from the same place heed does. An option the PyTorch
twin does not implement is an error here, never silently ignored.

flops_per_sample() is the one FLOP count both engines' "fraction of peak" use.
"""
import dataclasses
import subprocess
import tomllib


@dataclasses.dataclass
class Feature:
    name: str
    kind: str        # categorical | multi | sequence
    column: str
    table: str       # embedding table (features naming the same table share it)
    pooling: str     # "" for categorical; sum | mean | din
    max_len: int     # 0: no limit
    separator: str
    query: list      # din only: the query features (a tuple, concatenated)
    attend_with: list  # din only: sequences aligned with this one, attended as one tuple


@dataclasses.dataclass
class ModelSpec:
    features: list   # [Feature], in heed's field order
    dim: int
    init_std: float
    senet: bool
    senet_reduction: int
    senet_weight_l1: float  # L1 on SENet's weights, per row, added to the loss
    din_hidden: list
    din_activation: str   # dice | prelu
    din_normalize: str    # raw | softmax | mean | sqrtn
    poso: bool
    poso_features: list
    poso_gate_hidden: int
    poso_scale: float
    hidden: list
    dropout: float        # inverted dropout after each hidden layer's activation (and POSO gate)
    lr: float
    embedding_lr: float
    l2_embedding: float   # added to the gradient of the rows a batch touched (heed's row-wise L2)
    l2_dense: float       # added to every dense weight's gradient
    beta1: float
    beta2: float
    epsilon: float
    batch_size: int
    eval_batch_size: int
    epochs: int
    patience: int
    seed: int
    train_file: str
    valid_file: str   # "" when heed carves validation out of train (the twin then has none)
    test_file: str
    label: str

    @property
    def tables(self):
        """Table names in first-use order (heed's order)."""
        out = []
        for f in self.features:
            if f.table not in out:
                out.append(f.table)
        return out

    def field(self, name):
        return [f.name for f in self.features].index(name)

    @property
    def din_features(self):
        """The lead feature of each DIN attention (companions are pooled with it)."""
        return [f for f in self.features if f.pooling == "din" and f.query]


def _require(cond, what):
    if not cond:
        raise ValueError(f"the PyTorch reference does not implement {what}")


def resolve(heed, config, overrides):
    """The config fully resolved by heed itself (`heed config FILE --set ...`), as TOML text."""
    cmd = [heed, "config", config]
    for o in overrides:
        cmd += ["--set", o]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def load(path):
    with open(path, "rb") as f:
        return from_toml(tomllib.load(f))


def from_toml(c):
    """A ModelSpec from a resolved heed config (a dict from tomllib)."""
    e, s, d, p, m, o, t = (c["embedding"], c["senet"], c["din"], c["poso"], c["model"],
                           c["optimizer"], c["train"])
    _require(e["buckets"] == 0, "embedding.buckets > 0 (fixed hash buckets)")
    _require(e["unseen"] == "zero", "embedding.unseen other than 'zero'")
    _require(not s["enabled"] or (s["axis"] == "field" and s["squeeze"] == "mean" and s["gate"] == "sigmoid"
                                  and not s["fields"]),
             "SENet other than axis=field, squeeze=mean, gate=sigmoid over every field")
    _require(not p["enabled"] or (not p["layers"] and not p["all_fields"]), "POSO on a subset of layers or all_fields")
    _require(m["activation"] == "relu", "an MLP other than ReLU")
    _require(o["embedding"] == "adam", "an embedding optimizer other than Adam")
    _require(c["data"]["format"] == "tsv" and c["data"]["header"], "data other than TSV with a header")
    din_enabled = d.get("enabled", True)
    features = []
    for name, fc in c["features"].items():
        _require(fc["kind"] in ("categorical", "multi", "sequence"), f"feature kind {fc['kind']} ({name})")
        pooling = fc["pooling"]
        if fc["kind"] == "categorical":
            pooling = ""
        elif not pooling or (pooling == "din" and not din_enabled):  # heed's plain pooling
            plain = e.get("multi_pooling", "sqrtn") if fc["kind"] == "multi" else e.get("sequence_pooling", "sqrtn")
            pooling = plain
        attended = pooling == "din"
        features.append(Feature(name=name, kind=fc["kind"], column=fc["column"] or name, table=fc["table"] or name,
                                pooling=pooling, max_len=fc["max_len"], separator=fc["separator"] or "|",
                                query=list(fc["query"]) if attended else [],
                                attend_with=list(fc["attend_with"]) if attended else []))
    return ModelSpec(
        features=features, dim=e["dim"], init_std=e["init_std"],
        senet=s["enabled"], senet_reduction=s["reduction"], senet_weight_l1=s["weight_l1"], din_hidden=list(d["hidden"]),
        din_activation=d["activation"], din_normalize=d.get("normalize", "softmax" if d.get("softmax") else "raw"),
        poso=p["enabled"], poso_features=list(p["features"]), poso_gate_hidden=p["gate_hidden"],
        poso_scale=p["scale"], hidden=list(m["hidden"]), dropout=m["dropout"], lr=o["lr"], embedding_lr=o["embedding_lr"],
        l2_embedding=o["l2_embedding"], l2_dense=o["l2_dense"],
        beta1=o["beta1"], beta2=o["beta2"], epsilon=o["epsilon"], batch_size=t["batch_size"],
        eval_batch_size=c["eval"]["batch_size"], epochs=t["epochs"], patience=t["patience"], seed=t["seed"],
        train_file=c["data"]["train"], valid_file=c["data"]["valid"], test_file=c["data"]["test"],
        label=c["data"]["label"])


def flops_per_sample(spec, mean_keys):
    """Model FLOPs of one sample: {"forward", "backward", "train"}.

    Counts the dense-layer (GEMM) work, 2 FLOPs per multiply-add, of the model as defined:
    DIN's first layer on the full [q, k, q-k, q*k] input (an engine may do less, e.g. heed's
    split first layer), plus DIN's weighted sum. Elementwise work (activations, Dice, gates,
    embedding pooling) is left out. Backward is twice forward (input and weight gradients of
    every layer: every input, embeddings included, is learned). mean_keys: the mean number of
    history items per sample (DIN's work grows with it).
    """
    F, E = len(spec.features), spec.dim
    fwd = 0.0
    widths = [F * E] + list(spec.hidden) + [1]
    fwd += sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
    if spec.senet:
        h = max(1, F // spec.senet_reduction)
        fwd += 2 * (F * h + h * F)
    if spec.poso:
        P = E * len(spec.poso_features)
        fwd += sum(2 * (P * spec.poso_gate_hidden + spec.poso_gate_hidden * w) for w in spec.hidden)
    for f in spec.din_features:
        Q = E * (1 + len(f.attend_with))
        unit = [4 * Q] + list(spec.din_hidden) + [1]
        per_key = sum(2 * a * b for a, b in zip(unit[:-1], unit[1:])) + 2 * Q
        fwd += mean_keys * per_key
    return {"forward": fwd, "backward": 2 * fwd, "train": 3 * fwd}
