#!/usr/bin/env python3
"""The PyTorch twin of `almost-train bench surrogate`, for a like-for-like comparison.

Reads an almost dataset (data.npz), takes its first N ok rows, splits them 80/10/10 with a
seeded shuffle, standardises inputs and outputs on the training split, and fits the same
model as almost's default for these devices: an MLP [2n + n products] -> 64 -> 64 -> 1 with
softsign activations (x_i * A_i products appended to the normalised inputs), Adam (lr 3e-3,
batch 256), learning rate halved after 8 epochs without validation improvement, stopped when
the validation RMSE falls below 0.8 % of the output range or after 400 epochs. Prints the
held-out RMSE relative to the range and the wall time of the training loop.

usage: fit_surrogate_pytorch.py DATASET_DIR N [--threads T]
Needs numpy and torch (pip install torch); not part of the test suite.
"""
import argparse
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("n", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.008)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    d = np.load(f"{args.dataset}/data.npz")
    ok = d["status"] == 0
    x, a, y = d["x"][ok][: args.n], d["a"][ok][: args.n], d["y"][ok][: args.n]
    n_x = x.shape[1]
    inputs = np.concatenate([x, a], axis=1)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(inputs))
    n_test = round(0.1 * len(order))
    n_val = round(0.1 * len(order))
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    mu, sd = inputs[train].mean(0), inputs[train].std(0)
    ymu, ysd = y[train].mean(0), y[train].std(0)
    y_range = y[train].max() - y[train].min()

    def features(v):
        z = (v - mu) / sd
        return np.concatenate([z, z[:, :n_x] * z[:, n_x : 2 * n_x]], axis=1).astype(np.float32)

    def target(v):
        return ((v - ymu) / ysd).astype(np.float32)

    zt, tt = torch.from_numpy(features(inputs[train])), torch.from_numpy(target(y[train]))
    zv, tv = torch.from_numpy(features(inputs[val])), torch.from_numpy(target(y[val]))
    ze = torch.from_numpy(features(inputs[test]))

    class Softsign(torch.nn.Module):
        def forward(self, h):
            return h / (1 + h.abs())

    model = torch.nn.Sequential(
        torch.nn.Linear(zt.shape[1], 64), Softsign(), torch.nn.Linear(64, 64), Softsign(), torch.nn.Linear(64, 1)
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=8)
    best, best_state, since = float("inf"), None, 0
    start = time.perf_counter()
    epochs = 0
    for epoch in range(400):
        epochs += 1
        perm = torch.randperm(len(zt))
        for i in range(0, len(zt), 256):
            idx = perm[i : i + 256]
            opt.zero_grad()
            loss = ((model(zt[idx]) - tt[idx]) ** 2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            v = ((model(zv) - tv) ** 2).mean().item()
        sched.step(v)
        if v < best:
            best, best_state, since = v, {k: t.clone() for k, t in model.state_dict().items()}, 0
        else:
            since += 1
        if np.sqrt(v) * ysd[0] / y_range <= args.target or since >= 30 or opt.param_groups[0]["lr"] < 1e-5:
            break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    with torch.no_grad():
        pred = model(ze).numpy() * ysd + ymu
    rmse = float(np.sqrt(((pred - y[test]) ** 2).mean()))
    print(f"pytorch {torch.__version__}: {args.n} samples, RMSE/range {100 * rmse / y_range:.3f}%, {epochs} epochs, {seconds:.1f} s")


if __name__ == "__main__":
    main()
