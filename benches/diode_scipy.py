#!/usr/bin/env python3
"""The diode node's dataset generator against scipy's LSODA, same points, same equations.

Runs `almost-simulate generate` on one thread for the fan-in-8 diode node (x and A in
[-1, 1], rtol 1e-6, atol 1e-9, almost's default method for the device), reads the points it
solved from the dataset it wrote, solves the same points with scipy (LSODA through
`solve_ivp` with the analytic Jacobian, and LSODA through `odeint`, ODEPACK's own loop, which
has less Python around each step), checks that the outputs agree within the tolerances, and
prints microseconds per sample and the ratios. One core each: almost with `--threads 1`,
scipy in this process.

    python3 benches/diode_scipy.py [--samples 20000] [--scipy-samples 2000]

Needs numpy and scipy (`pip install numpy scipy`) and a release build of almost-simulate
(`cargo build --release -p almost-cli`). The generator's time is the whole command: start-up,
the batched solves, the checks and the dataset's files.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.integrate import odeint, solve_ivp

# the diode node's constants (crates/almost-sim/src/devices/diode_node.rs)
C, G_MAX, G_L, I_S, ETA, V_T, T_END = 1e-9, 1e-4, 1e-5, 1e-9, 1.8, 0.025852, 1e-5
T_OVER_C = T_END / C
INV_NVT = 1.0 / (ETA * V_T)

CONFIG = """
name = "diode-scipy-bench"
[device]
kind = "diode-node"
fan_in = {fan_in}
[design]
kind = "sobol"
samples = {samples}
seed = 1
[solver]
rtol = {rtol}
atol = {atol}
"""


def node(x, a):
    """The right-hand side and Jacobian in the scaled time tau = t / T, as almost solves it."""
    current = G_MAX * np.dot(a, x)
    conductance = G_L + G_MAX * np.abs(a).sum()

    def f(v):
        return T_OVER_C * (current - conductance * v - 2.0 * I_S * np.sinh(v * INV_NVT))

    def df(v):
        return -T_OVER_C * (conductance + 2.0 * I_S * INV_NVT * np.cosh(v * INV_NVT))

    return f, df


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20000, help="points almost generates")
    ap.add_argument("--scipy-samples", type=int, default=2000, help="the first N of them, solved by scipy")
    ap.add_argument("--fan-in", type=int, default=8)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    ap.add_argument("--repeats", type=int, default=3, help="almost's runs (median)")
    ap.add_argument("--bin", default=os.path.join("target", "release", "almost-simulate"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="almost-scipy-")
    cfg = os.path.join(work, "diode.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(fan_in=args.fan_in, samples=args.samples, rtol=args.rtol, atol=args.atol))
    times = []
    for r in range(args.repeats):
        out = os.path.join(work, f"run{r}")
        t = time.perf_counter()
        subprocess.run([args.bin, "generate", cfg, "--out", out, "--threads", "1"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    almost_us = sorted(times)[len(times) // 2] / args.samples * 1e6
    data = np.load(os.path.join(work, "run0", "data.npz"))
    x, a, y, status = data["x"], data["a"], data["y"][:, 0], data["status"]
    if (status != 0).any():
        sys.exit(f"{(status != 0).sum()} failed samples in almost's dataset")

    n = min(args.scipy_samples, len(y))
    ref_ivp, ref_odeint = np.empty(n), np.empty(n)
    t = time.perf_counter()
    for i in range(n):
        f, df = node(x[i], a[i])
        sol = solve_ivp(lambda _t, v: f(v), (0.0, 1.0), [0.0], method="LSODA", jac=lambda _t, v: [[df(v[0])]],
                        rtol=args.rtol, atol=args.atol, t_eval=[1.0])
        ref_ivp[i] = sol.y[0, -1]
    ivp_us = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for i in range(n):
        f, df = node(x[i], a[i])
        sol = odeint(lambda v, _t: f(v), [0.0], [0.0, 1.0], Dfun=lambda v, _t: [[df(v[0])]],
                     rtol=args.rtol, atol=args.atol)
        ref_odeint[i] = sol[-1, 0]
    odeint_us = (time.perf_counter() - t) / n * 1e6

    def diff(ref):
        return np.abs(y[:n] - ref).max()

    print(f"diode node, fan-in {args.fan_in}, rtol {args.rtol:g}, atol {args.atol:g}, one core each")
    print(f"{'':28} {'us/sample':>10} {'almost x faster':>16} {'max |y - almost| (V)':>22}")
    print(f"{'almost-simulate generate':28} {almost_us:>10.2f} {1.0:>16.1f} {'':>22}")
    print(f"{'scipy solve_ivp LSODA':28} {ivp_us:>10.2f} {ivp_us / almost_us:>16.1f} {diff(ref_ivp):>22.2e}")
    print(f"{'scipy odeint (LSODA)':28} {odeint_us:>10.2f} {odeint_us / almost_us:>16.1f} {diff(ref_odeint):>22.2e}")
    print(f"({args.samples} samples for almost, median of {args.repeats} runs; the first {n} for scipy)")


if __name__ == "__main__":
    main()
