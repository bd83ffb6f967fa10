#!/usr/bin/env python3
"""The PyTorch twin of a device network, for `almost-train bench epoch`'s side-by-side ratio.

Runs `almost-train bench epoch --config CONFIG --export DIR` (almost's epoch time, work and
floor), then builds the same network in PyTorch from DIR/twin.npz: the same wiring, fixed input
maps, initial A and frozen surrogate tensors, with the first layer split as almost splits it
(the x part per sample, the A part once per device). Checks the twin's logits on the first
training images against almost's, then times, with the same thread count:
  - one training epoch (all training images, almost's batch size, Adam on A with each column's
    step scaled by its half-range, then A clamped to its bounds), eager and torch.compile;
  - the forward pass over every test image, eager and compiled.
Prints the medians and almost's epoch over each of them.

usage: devnet_pytorch.py [--config simulations/networks/digits-diode.toml] [--threads 2]
                         [--repeats 3] [--almost target/release/almost-train] [--out runs/twin]
Needs torch and numpy (pip install torch numpy); not part of the test suite.
"""
import argparse
import io
import json
import re
import subprocess
import time
import zipfile

import numpy as np
import torch


def load_twin(path):
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("meta.json"))
        arrays = {n[:-4]: np.load(io.BytesIO(z.read(n))) for n in z.namelist() if n.endswith(".npy")}
    return meta, arrays


ACT = {
    "tanh": torch.tanh,
    "softsign": lambda h: h / (1 + h.abs()),
    "sigmoid": torch.sigmoid,
    "silu": torch.nn.functional.silu,
    "gelu": torch.nn.functional.gelu,
}


class DeviceLayer(torch.nn.Module):
    def __init__(self, meta, arrays, l):
        super().__init__()
        t = lambda name: torch.tensor(arrays[f"l{l}.{name}"], dtype=torch.float32)
        self.m, self.k = meta["devices"], meta["fan_in"]
        self.n_x, self.n_a = meta["n_x"], meta["n_a"]
        self.gain, self.offset, self.reference = meta["gain"], meta["offset"], meta["reference"]
        self.output, self.pairs, self.squares = meta["output"], meta["pairs"], meta["squares"]
        self.final_activation = meta["final_activation"]
        self.act = ACT[meta["activation"]]
        if meta["architecture"]["kind"] != "mlp":
            raise SystemExit("the twin builds MLP surrogates only")
        self.register_buffer("idx", torch.tensor(arrays[f"l{l}.indices"].astype(np.int64)).reshape(-1))
        lo, hi = torch.tensor(meta["a_lo"]), torch.tensor(meta["a_hi"])
        self.register_buffer("a_lo", lo.float())
        self.register_buffer("a_hi", hi.float())
        self.a = torch.nn.Parameter(t("a"))
        for name in ["in_shift", "in_scale", "out_shift", "out_scale"]:
            self.register_buffer(name, t(name))
        ws = [t(f"w{k}") for k in range(meta["dense_layers"])]
        bs = [t(f"b{k}") for k in range(meta["dense_layers"])]
        n_x, n_a, p = self.n_x, self.n_a, self.pairs
        self.register_buffer("wx", ws[0][:n_x])
        self.register_buffer("wa", ws[0][n_x : n_x + n_a])
        self.register_buffer("wp", ws[0][n_x + n_a : n_x + n_a + p])
        self.register_buffer("wq", ws[0][n_x + n_a + p : n_x + n_a + p + self.squares])
        self.register_buffer("b0", bs[0])
        self.rest = [(w, b) for w, b in zip(ws[1:], bs[1:])]
        for j, (w, b) in enumerate(self.rest):
            self.register_buffer(f"w_{j}", w)
            self.register_buffer(f"b_{j}", b)

    def forward(self, u):
        batch = u.shape[0]
        if self.reference is not None:
            u = torch.cat([u, torch.full((batch, 1), self.reference, dtype=u.dtype)], 1)
        # [batch, m, k]: the gather and the fixed map; everything below broadcasts over the batch
        x = u[:, self.idx].reshape(batch, self.m, self.k) * self.gain + self.offset
        n_x, n_a = self.n_x, self.n_a
        zx = (x - self.in_shift[:n_x]) * self.in_scale[:n_x]
        za = (self.a - self.in_shift[n_x : n_x + n_a]) * self.in_scale[n_x : n_x + n_a]
        pre = zx @ self.wx + (za @ self.wa + self.b0)  # the A half once per device
        if self.pairs or self.squares:
            za_x = za[:, :n_x]
            if self.pairs:
                pre = pre + (zx * za_x) @ self.wp
            if self.squares:
                pre = pre + (zx * zx * za_x) @ self.wq
        n_rest = len(self.rest)
        h = self.act(pre) if n_rest > 0 or self.final_activation else pre
        for j in range(n_rest):
            h = h @ getattr(self, f"w_{j}") + getattr(self, f"b_{j}")
            if j < n_rest - 1 or self.final_activation:
                h = self.act(h)
        y = h * self.out_scale + self.out_shift
        return y[..., self.output]


class Net(torch.nn.Module):
    def __init__(self, meta, arrays):
        super().__init__()
        self.layers = torch.nn.ModuleList(DeviceLayer(m, arrays, l) for l, m in enumerate(meta["layers"]))
        r = meta["readout"]
        self.classes, self.per_class, self.scale, self.interleaved = (
            r["classes"], r["per_class"], r["scale"], r["interleaved"])

    def forward(self, u):
        for layer in self.layers:
            u = layer(u)
        b = u.shape[0]
        if self.interleaved:
            return u.reshape(b, self.per_class, self.classes).sum(1) * self.scale
        return u.reshape(b, self.classes, self.per_class).sum(2) * self.scale


def epoch(model, step, pixels, labels, batch):
    for s in range(0, len(pixels), batch):
        step(pixels[s : s + batch], labels[s : s + batch])


def make_step(model, lr):
    # almost's Adam step is a share lr of each A's half-range: one group per layer, lr x half-range
    groups = [{"params": [l.a], "lr": lr * float(0.5 * (l.a_hi - l.a_lo).mean())} for l in model.layers]
    opt = torch.optim.Adam(groups)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        with torch.no_grad():  # the projection onto A's bounds
            for l in model.layers:
                l.a.copy_(torch.maximum(torch.minimum(l.a, l.a_hi), l.a_lo))
        return loss

    return step


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="simulations/networks/digits-diode.toml")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=1024, help="images per measured almost epoch")
    ap.add_argument("--almost", default="target/release/almost-train")
    ap.add_argument("--out", default="runs/twin")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = subprocess.run(
        [args.almost, "--threads", str(args.threads), "bench", "epoch", "--config", args.config, "--export", args.out,
         "--images", str(args.images), "--repeats", str(args.repeats), "--work", args.out],
        check=True, capture_output=True, text=True).stdout
    print(out, end="")
    almost_epoch = float(re.search(r"^epoch\s+([0-9.]+) s", out, re.M).group(1))
    floor = float(re.search(r"^floor\s+([0-9.]+) s", out, re.M).group(1))
    almost_fwd = float(re.search(r"^test forward\s+([0-9.]+) s", out, re.M).group(1))
    meta, arrays = load_twin(f"{args.out}/twin.npz")
    model = Net(meta, arrays)
    train_x = torch.tensor(arrays["train_pixels"], dtype=torch.float32) / 255.0
    train_y = torch.tensor(arrays["train_labels"].astype(np.int64))
    test_x = torch.tensor(arrays["test_pixels"], dtype=torch.float32) / 255.0
    with torch.no_grad():
        check = model(train_x[: len(arrays["check_logits"])]).double().numpy()
    diff = np.abs(check - arrays["check_logits"]).max()
    scale = np.abs(arrays["check_logits"]).max()
    print(f"twin check     logits of {len(check)} training images: max |torch - almost| = {diff:.2e} "
          f"(largest logit {scale:.2f})")
    if not diff <= 1e-4 * max(scale, 1.0):
        raise SystemExit("the PyTorch twin does not compute almost's network; no timing")
    batch = meta["training"]["batch_size"]
    rows = []
    for name, compiled in [("eager", False), ("torch.compile", True)]:
        net = Net(meta, arrays)
        fwd = torch.compile(net) if compiled else net
        step = make_step(net, meta["training"]["learning_rate"])
        if compiled:
            step = torch.compile(step)
        epoch(fwd, step, train_x[: 4 * batch], train_y[: 4 * batch], batch)  # warm-up / compile
        t_epoch = median_time(lambda: epoch(fwd, step, train_x, train_y, batch), args.repeats)

        def forward_test():
            with torch.no_grad():
                for s in range(0, len(test_x), 500):
                    fwd(test_x[s : s + 500])

        forward_test()
        t_fwd = median_time(forward_test, args.repeats)
        rows.append((name, t_epoch, t_fwd))
    print(f"\n{'':<22}{'epoch (s)':>10}{'almost / it':>13}{'test forward (s)':>18}{'almost / it':>13}")
    print(f"{'almost':<22}{almost_epoch:>10.2f}{1.0:>13.2f}{almost_fwd:>18.2f}{1.0:>13.2f}")
    for name, t_epoch, t_fwd in rows:
        print(f"{'PyTorch ' + name:<22}{t_epoch:>10.2f}{almost_epoch / t_epoch:>13.2f}{t_fwd:>18.2f}"
              f"{almost_fwd / t_fwd:>13.2f}")
    print(f"{'floor (work / rate)':<22}{floor:>10.2f}{almost_epoch / floor:>13.2f}")


if __name__ == "__main__":
    main()
