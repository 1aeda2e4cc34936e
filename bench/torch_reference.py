#!/usr/bin/python3
"""The reference model in PyTorch, trained and timed the way heed is (docs/performance.md).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      bench/torch_reference.py --config RESOLVED.toml --data DIR --threads 2 --out torch.json

RESOLVED.toml is a heed config with every key written out (`heed config
bench/configs/reference.toml --set ... > RESOLVED.toml`; bench/compare.py does this per
variant), so this model takes its sizes and options from the same place heed does.

The model, as heed's layers define it (src/layers/*.h):
  * one embedding table per heed table (hist_movie_ids shares movie_id's), rows N(0, init_std);
    index 0 is padding and index 1 an unseen value (both zero vectors, as heed reads a key it
    never saw in training as zero); sum / mean / sqrtn pooling over the non-padding values;
  * DIN: activation unit [q, k, q-k, q*k] -> 80 -> Dice|PReLU -> 40 -> Dice|PReLU -> 1 on the real
    history items only (padding is masked out before the unit, so Dice's batch statistics see
    exactly the keys heed's do); q and k are tuples (attend_with: the aligned sequences'
    vectors concatenated, the query features' likewise); weights per din.normalize: raw scores
    (the paper), a masked softmax, or raw scores over the row's length (mean) or its square
    root (sqrtn); pooled = sum_j w_j k_j, split back into one vector per key feature;
  * Dice: batch statistics (biased variance) in training, running statistics (momentum 0.99,
    eps 1e-8, alpha starting at 0) in evaluation;
  * SENet over every field: mean squeeze -> Linear(F, F/r) -> ReLU -> Linear -> sigmoid;
  * MLP with ReLU and inverted dropout (model.dropout) after each hidden layer; POSO: per hidden layer a gate pc -> Linear(P, 32) -> ReLU -> Linear -> 2 sigmoid
    that multiplies the layer's activations (pc: the user_activity field vector, before SENet);
  * Linear weights Glorot-uniform, biases zero (POSO's output layer scaled by 0.1, as heed's);
  * Adam for the dense weights; SparseAdam for the embeddings (sparse=True): like heed's
    row-wise Adam it updates only the rows a batch touched, and its bias correction counts
    every step, as heed's does. Plain Adam would decay the moments of, and move, every row
    of every table on every step; that is a different optimizer and far more work.
Loss: binary cross-entropy on logits, averaged over the batch.

Parsing (pandas reading the TSV, building the vocabularies and the padded index tensors) is
timed apart from training, so both "parsing excluded" and "parsing included" throughput come
out of one run.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_spec  # noqa: E402

PAD, UNSEEN = 0, 1  # reserved rows of every table


# ---------------------------------------------------------------------------------------------
# Data: TSV -> index tensors
# ---------------------------------------------------------------------------------------------

def read_tsv(path, columns):
    return pd.read_csv(path, sep="\t", dtype=str, usecols=columns, keep_default_na=False,
                       na_filter=False, quoting=csv.QUOTE_NONE, engine="c")


def tokens(series, sep):
    """Flat tokens of a multi-valued column (empty tokens dropped), indexed by row."""
    flat = series.str.split(sep, regex=False).explode()
    return flat[flat != ""]


def build_vocabularies(spec, frame):
    """Per table: the training values, in a pd.Index; value v has row 2 + its position."""
    values = {t: [] for t in spec.tables}
    for f in spec.features:
        col = frame[f.column]
        values[f.table].append(col.unique() if f.kind == "categorical" else tokens(col, f.separator).unique())
    return {t: pd.Index(pd.unique(np.concatenate(v))) for t, v in values.items()}


def encode(spec, frame, vocab):
    """Index tensors: [N] per categorical feature, [N, W] (0-padded) per multi/sequence one."""
    out = {}
    for f in spec.features:
        col = frame[f.column]
        if f.kind == "categorical":
            ids = vocab[f.table].get_indexer(col.values)
            out[f.name] = torch.from_numpy(np.where(ids < 0, UNSEEN, ids + 2).astype(np.int64))
            continue
        flat = tokens(col, f.separator)
        row = flat.index.values
        pos = flat.groupby(level=0).cumcount().values
        count = np.bincount(row, minlength=len(frame))
        if f.max_len > 0:
            if f.kind == "sequence":  # keep the most recent max_len (the last ones)
                skip = np.maximum(count - f.max_len, 0)[row]
                keep = pos >= skip
                pos = pos - skip
            else:                     # keep the first max_len
                keep = pos < f.max_len
            row, pos, flat = row[keep], pos[keep], flat[keep]
        width = max(1, int(pos.max()) + 1) if len(pos) else 1
        ids = vocab[f.table].get_indexer(flat.values)
        m = np.zeros((len(frame), width), dtype=np.int64)
        m[row, pos] = np.where(ids < 0, UNSEEN, ids + 2)
        out[f.name] = torch.from_numpy(m)
    return out


def load(spec, path, vocab=None):
    columns = [spec.label] + list(dict.fromkeys(f.column for f in spec.features))
    frame = read_tsv(path, columns)
    if vocab is None:
        vocab = build_vocabularies(spec, frame)
    x = encode(spec, frame, vocab)
    y = torch.from_numpy(frame[spec.label].values.astype(np.float32))
    return x, y, vocab


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

def glorot(linear):
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


class Dice(nn.Module):
    """heed's Dice (src/layers/dice.h): y = p s + (1 - p) alpha s, p = sigmoid((s - mean) / std)."""

    def __init__(self, width, momentum=0.99, eps=1e-8):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_var", torch.ones(width))
        self.momentum, self.eps = momentum, eps

    def forward(self, s):  # [N, D]
        if self.training:
            mean = s.mean(0)
            var = s.var(0, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)
                self.running_var.mul_(self.momentum).add_((1 - self.momentum) * var)
        else:
            mean, var = self.running_mean, self.running_var
        p = torch.sigmoid((s - mean) * torch.rsqrt(var + self.eps))
        return s * (p + (1 - p) * self.alpha)


class DinAttention(nn.Module):
    def __init__(self, width, hidden, activation, normalize):
        super().__init__()
        widths = [4 * width] + list(hidden)
        self.layers = nn.ModuleList(glorot(nn.Linear(a, b)) for a, b in zip(widths[:-1], widths[1:]))
        # heed's PReLU: one slope per unit, starting at 0.25
        self.acts = nn.ModuleList(Dice(w) if activation == "dice" else nn.PReLU(w, init=0.25) for w in hidden)
        self.out = glorot(nn.Linear(widths[-1], 1))
        self.normalize = normalize

    def forward(self, query, keys, mask):
        """query [B, Q], keys [B, T, Q], mask [B, T] (True: a real item) -> pooled [B, Q]."""
        k = keys[mask]                                        # [N, Q] the real items only
        q = query.unsqueeze(1).expand_as(keys)[mask]          # [N, Q]
        x = torch.cat([q, k, q - k, q * k], dim=1)            # [N, 4Q]
        for layer, act in zip(self.layers, self.acts):
            x = act(layer(x))
        score = self.out(x).squeeze(1)                        # [N]
        score = torch.zeros(mask.shape, dtype=keys.dtype).masked_scatter(mask, score)  # [B, T]
        length = mask.sum(1, keepdim=True).clamp(min=1).to(keys.dtype)
        if self.normalize == "softmax":
            weight = torch.softmax(score.masked_fill(~mask, float("-inf")), dim=1)
            weight = torch.nan_to_num(weight) * mask              # a row without items pools to zero
        elif self.normalize == "mean":
            weight = score / length
        elif self.normalize == "sqrtn":
            weight = score / length.sqrt()
        else:
            weight = score
        return torch.bmm(weight.unsqueeze(1), keys).squeeze(1)


class Senet(nn.Module):
    def __init__(self, fields, reduction):
        super().__init__()
        h = max(1, fields // reduction)
        self.squeeze = glorot(nn.Linear(fields, h))
        self.excite = glorot(nn.Linear(h, fields))

    def forward(self, x):  # [B, F, E]
        a = torch.sigmoid(self.excite(torch.relu(self.squeeze(x.mean(2)))))
        self.last_weights = a  # for senet.weight_l1
        return x * a.unsqueeze(2)


class PosoGate(nn.Module):
    def __init__(self, pc_width, hidden, width, scale):
        super().__init__()
        self.hidden = glorot(nn.Linear(pc_width, hidden))
        self.out = glorot(nn.Linear(hidden, width))
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.fill_(-math.log(scale - 1))  # a fresh gate is 1
        self.scale = scale

    def forward(self, pc):
        return self.scale * torch.sigmoid(self.out(torch.relu(self.hidden(pc))))


class CtrModel(nn.Module):
    def __init__(self, spec, vocab, sparse=True):
        super().__init__()
        self.spec = spec
        E = spec.dim
        self.tables = nn.ModuleDict()
        for t in spec.tables:
            table = nn.Embedding(len(vocab[t]) + 2, E, padding_idx=PAD, sparse=sparse)
            with torch.no_grad():
                table.weight.normal_(0, spec.init_std)
                table.weight[PAD].zero_()
                table.weight[UNSEEN].zero_()
            self.tables[t] = table
        self.din = nn.ModuleDict({f.name: DinAttention(E * (1 + len(f.attend_with)), spec.din_hidden,
                                                       spec.din_activation, spec.din_normalize)
                                  for f in spec.din_features})
        self.by_name = {f.name: f for f in spec.features}
        F = len(spec.features)
        self.senet = Senet(F, spec.senet_reduction) if spec.senet else None
        widths = [F * E] + list(spec.hidden)
        self.mlp = nn.ModuleList(glorot(nn.Linear(a, b)) for a, b in zip(widths[:-1], widths[1:]))
        self.output = glorot(nn.Linear(widths[-1], 1))
        self.dropout = nn.Dropout(spec.dropout)  # identity in eval mode, as heed's
        self.pc_fields = [spec.field(n) for n in spec.poso_features] if spec.poso else []
        self.gates = nn.ModuleList(PosoGate(E * len(self.pc_fields), spec.poso_gate_hidden, w, spec.poso_scale)
                                   for w in spec.hidden) if spec.poso else None

    def forward(self, x):
        vectors = {}
        for f in self.spec.features:
            if f.pooling == "din":
                continue
            idx = x[f.name]
            emb = self.tables[f.table](idx)
            if f.kind == "categorical":
                vectors[f.name] = emb                              # [B, E]
            elif f.pooling == "sum":
                vectors[f.name] = emb.sum(1)
            else:  # mean / sqrtn over the values present (unseen ones count, padding does not)
                count = (idx != PAD).sum(1, keepdim=True).clamp(min=1).to(emb.dtype)
                vectors[f.name] = emb.sum(1) / (count if f.pooling == "mean" else count.sqrt())
        for f in self.spec.din_features:                           # the query tuple is field vectors
            members = [f] + [self.by_name[n] for n in f.attend_with]
            query = torch.cat([vectors[q] for q in f.query], dim=1)
            idx = x[f.name]
            width = idx.shape[1]
            keys = torch.cat([self.tables[m.table](x[m.name][:, :width]) for m in members], dim=2)
            pooled = self.din[f.name](query, keys, idx != PAD)
            for i, m in enumerate(members):
                vectors[m.name] = pooled[:, i * self.spec.dim:(i + 1) * self.spec.dim]
        fields = torch.stack([vectors[f.name] for f in self.spec.features], dim=1)  # [B, F, E]
        gated = self.senet(fields) if self.senet is not None else fields
        h = gated.flatten(1)                                       # [B, F*E]
        pc = fields[:, self.pc_fields].flatten(1) if self.gates is not None else None
        for l, layer in enumerate(self.mlp):
            h = torch.relu(layer(h))
            if self.gates is not None:
                h = h * self.gates[l](pc)
            h = self.dropout(h)
        return self.output(h).squeeze(1)                           # [B] logits


# ---------------------------------------------------------------------------------------------
# Training, evaluation, timing
# ---------------------------------------------------------------------------------------------

def take(x, idx):
    return {k: v[idx] for k, v in x.items()}


def add_l2(tables, dense, spec):
    """heed's L2: l2 * w added to the gradient, of the touched rows only for embeddings."""
    if spec.l2_dense > 0:
        for p in dense:
            if p.grad is not None:
                p.grad.add_(p.detach(), alpha=spec.l2_dense)
    if spec.l2_embedding > 0:
        for p in tables:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                g = p.grad.coalesce()
                rows = g.indices()[0]
                p.grad = torch.sparse_coo_tensor(g.indices(), g.values() + spec.l2_embedding * p.detach()[rows],
                                                 g.shape)
            else:
                touched = p.grad.abs().sum(1) > 0
                p.grad[touched] += spec.l2_embedding * p.detach()[touched]


def train(model, spec, x, y, epochs, after_epoch=None):
    """after_epoch(epoch) -> True stops training (early stopping)."""
    sparse = [p for n, p in model.named_parameters() if n.startswith("tables.")]
    dense = [p for n, p in model.named_parameters() if not n.startswith("tables.")]
    betas = (spec.beta1, spec.beta2)
    opt_dense = torch.optim.Adam(dense, lr=spec.lr, betas=betas, eps=spec.epsilon)
    if model.tables[spec.tables[0]].sparse:
        opt_sparse = torch.optim.SparseAdam(sparse, lr=spec.embedding_lr, betas=betas, eps=spec.epsilon)
    else:  # --dense-embedding-adam: every row's moments decay, and every row moves, every step
        opt_sparse = torch.optim.Adam(sparse, lr=spec.embedding_lr, betas=betas, eps=spec.epsilon)
    loss_fn = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(spec.seed)
    history = []
    n = len(y)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        started = time.perf_counter()
        loss_sum = 0.0
        for start in range(0, n, spec.batch_size):
            idx = order[start:start + spec.batch_size]
            loss = loss_fn(model(take(x, idx)), y[idx])
            if model.senet is not None and spec.senet_weight_l1 > 0:
                loss_with_l1 = loss + spec.senet_weight_l1 * model.senet.last_weights.abs().sum(1).mean()
            else:
                loss_with_l1 = loss
            opt_dense.zero_grad(set_to_none=True)
            opt_sparse.zero_grad(set_to_none=True)
            loss_with_l1.backward()
            add_l2(sparse, dense, spec)
            opt_dense.step()
            opt_sparse.step()
            loss_sum += loss.item() * len(idx)
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch, "train_logloss": loss_sum / n, "seconds": seconds,
                        "samples_per_second": n / seconds})
        print(f"torch epoch {epoch}: logloss {loss_sum / n:.5f}, {n / seconds:.0f} samples/s", file=sys.stderr)
        if after_epoch is not None and after_epoch(history[-1]):
            break
    return history


@torch.inference_mode()
def predict(model, x, n, batch):
    model.eval()
    out = torch.empty(n)
    for start in range(0, n, batch):
        sl = slice(start, min(n, start + batch))
        out[sl] = torch.sigmoid(model(take(x, sl)))
    return out


def auc(scores, labels):
    """Exact AUC with ties counting half (as heed's metrics/auc): the rank-sum statistic."""
    s, y = scores.double().numpy(), labels.numpy() > 0.5
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(s).rank(method="average").values
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def logloss(scores, labels):
    p = scores.double().clamp(1e-7, 1 - 1e-7)
    y = labels.double()
    return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())


@torch.inference_mode()
def latency(model, x, n, group, repeats):
    """Per request of `group` consecutive rows: the forward's wall time, in ms."""
    model.eval()
    requests = n // group
    times = []
    for r in range(min(requests, 20)):  # warm up
        model(take(x, slice(r * group, (r + 1) * group)))
    for i in range(repeats):
        r = i % requests
        batch = take(x, slice(r * group, (r + 1) * group))
        t0 = time.perf_counter()
        model(batch)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"p50": float(np.percentile(times, 50)), "p99": float(np.percentile(times, 99)),
            "mean": float(np.mean(times)), "requests": len(times), "candidates": group}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="resolved heed config (heed config FILE --set ...)")
    parser.add_argument("--data", required=True, help="folder with the config's train and test files")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, help="default: the config's train.epochs")
    parser.add_argument("--requests", help="request file: blocks of --candidates rows, one user each")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--latency-repeats", type=int, default=500)
    parser.add_argument("--infer-batch", type=int, help="default: the config's eval.batch_size")
    parser.add_argument("--dense-embedding-adam", action="store_true",
                        help="plain Adam on the embedding tables instead of SparseAdam (an experiment: "
                             "rows keep moving on their momentum after the batch that touched them)")
    parser.add_argument("--valid", action="store_true",
                        help="early stopping on the config's data.valid file (quality runs; not for timing)")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    spec = model_spec.load(args.config)
    torch.manual_seed(spec.seed)
    epochs = args.epochs or spec.epochs
    infer_batch = args.infer_batch or spec.eval_batch_size

    t0 = time.perf_counter()
    x, y, vocab = load(spec, os.path.join(args.data, spec.train_file))
    parse_seconds = time.perf_counter() - t0
    xt, yt, _ = load(spec, os.path.join(args.data, spec.test_file), vocab)

    model = CtrModel(spec, vocab, sparse=not args.dense_embedding_adam)
    # With a validation file (data.valid), keep the epoch of the best validation AUC and stop
    # after train.patience epochs without improvement, as heed does; the test uses that epoch.
    best = {"auc": -1.0, "epoch": 0, "state": None, "waited": 0}
    after_epoch = None
    if args.valid and spec.valid_file:
        xv, yv, _ = load(spec, os.path.join(args.data, spec.valid_file), vocab)

        def after_epoch(record):
            record["valid_auc"] = auc(predict(model, xv, len(yv), infer_batch), yv)
            print(f"torch epoch {record['epoch']}: valid auc {record['valid_auc']:.5f}", file=sys.stderr)
            if record["valid_auc"] > best["auc"]:
                best.update(auc=record["valid_auc"], epoch=record["epoch"], waited=0,
                            state={k: v.clone() for k, v in model.state_dict().items()})
                return False
            best["waited"] += 1
            return best["waited"] >= spec.patience
    history = train(model, spec, x, y, epochs, after_epoch)
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    train_seconds = sum(h["seconds"] for h in history)
    n_train = len(y)

    t0 = time.perf_counter()
    scores = predict(model, xt, len(yt), infer_batch)
    infer_seconds = time.perf_counter() - t0

    result = {
        "engine": "torch", "torch_version": torch.__version__, "threads": args.threads, "epochs": epochs,
        "train_rows": n_train, "test_rows": len(yt),
        "parse_seconds": parse_seconds, "train_seconds": train_seconds,
        "train_samples_per_second": epochs * n_train / train_seconds,
        "train_samples_per_second_with_parsing": epochs * n_train / (train_seconds + parse_seconds),
        "history": history, "kept_epoch": best["epoch"] or len(history),
        "test": {"auc": auc(scores, yt), "logloss": logloss(scores, yt),
                 "calibration": float(scores.double().mean() / yt.double().mean()), "rows": len(yt)},
        "inference_batch": infer_batch, "inference_samples_per_second": len(yt) / infer_seconds,
        "dense_parameters": sum(p.numel() for n, p in model.named_parameters() if not n.startswith("tables.")),
        "embedding_rows": sum(len(v) for v in vocab.values()),
    }
    if args.requests:
        xr, yr, _ = load(spec, args.requests, vocab)
        result["latency_ms"] = latency(model, xr, len(yr), args.candidates, args.latency_repeats)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
