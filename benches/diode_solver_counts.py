#!/usr/bin/env python3
"""How many right-hand sides a diode-node solve needs, explicit against stiff solvers.

Counts (does not time) the evaluations of the fan-in-16 diode node's equation per solve of
its observation window, for diffsol's Tsitouras 5(4) (the node's default: diffsol's
tableau, its first step and its controller: mean-square error norm, factor
0.9 * norm^(-1/10) clamped to [0.5, 2]; almost's own counter, on diffsol's solo solve, counts
more: 215 against 188 on the random points at rtol 1e-7, 102 against 55 at 1e-3, so these
figures compare the two methods with each other) and for the stiff Rodas4 (Hairer and Wanner's
Rosenbrock method, order 4(3), L-stable, stiffly accurate; one Jacobian a step, the same
first step, factor clamped to [0.2, 5]), at four tolerances (atol = rtol / 100, the dataset's ratio), on

- 200 random points of the default box (x in [-2, 2], A in [-1, 1]), and
- 100 driven points: each input at the sign of its A, 0.6-2 V, so the node sits on the diode
  clamp, where its time constant is a few nanoseconds and an explicit step is limited by
  stability, not accuracy (where a trained network drives many of its nodes).

The error of each answer is against a Tsitouras solve at rtol 1e-12. Pure Python,
no dependencies:

    python3 benches/diode_solver_counts.py

What it showed (README, "Physics at the speed of its equations"): on driven points the
explicit solve needs about 300-400 right-hand sides whatever the tolerance, and even Rodas4
needs 150 or more evaluations (right-hand sides and Jacobians) at rtol 1e-4.
"""

import math
import random

# the diode node's constants (crates/almost-sim/src/devices/diode_node.rs), time scaled by T
C, G_MAX, G_L, I_S, ETA, V_T, T_END = 1e-9, 1e-4, 1e-5, 1e-9, 1.8, 0.025852, 1e-5
NVT = ETA * V_T
K = T_END / C
INF = float("inf")


def node(x, a):
    """The node's right-hand side dV/dtau and its derivative in V, for inputs x and A."""
    current = G_MAX * sum(ai * xi for ai, xi in zip(a, x))
    conductance = G_MAX * sum(abs(ai) for ai in a) + G_L

    def f(v):
        z = max(min(v / NVT, 708.0), -708.0)
        return K * (current - conductance * v - I_S * (math.exp(z) - math.exp(-z)))

    def jac(v):
        z = max(min(v / NVT, 708.0), -708.0)
        return K * (-conductance - I_S * (math.exp(z) + math.exp(-z)) / NVT)

    return f, jac


def safe(f, v):
    """f(v), or inf where a wild stage overflows (the step is then rejected)."""
    try:
        return f(v)
    except OverflowError:
        return INF


def norm(e, y, rtol, atol):
    """diffsol's mean-square norm of one value (inf when it overflows)."""
    try:
        return (e / (abs(y) * rtol + atol)) ** 2
    except OverflowError:
        return INF


def factor(n, power, lo, hi):
    """The step factor 0.9 * n^(-power), clamped."""
    if n == 0:
        return hi
    if not math.isfinite(n):
        return lo
    return min(hi, max(lo, 0.9 * n ** (-power)))


def first_step(f, y0, f0, rtol, atol, order):
    """diffsol's first step (Hairer-Norsett-Wanner II.4); costs one more evaluation."""
    sc = abs(y0) * rtol + atol
    d0, d1 = abs(y0) / sc, abs(f0) / sc
    h0 = 0.01 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    d2 = abs(safe(f, y0 + h0 * f0) - f0) / sc / h0
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / (order + 1))
    return min(100 * h0, h1)


# diffsol's Tsitouras 5(4) tableau (diffsol 0.18, ode_solver/tableau.rs)
TC = [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1]
TB = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0]
TD = [-0.001780011052225777, -0.0008164344596567469, 0.007880878010261995, -0.1447110071732629,
      0.5823571654525552, -0.45808210592918697, 0.015151515151515152]
TA = [[0.0] * 7 for _ in range(7)]
for (i, j), v in {(2, 1): 0.335480655492357, (3, 1): -6.359448489975075, (4, 1): -11.74888356406283,
                  (5, 1): -12.92096931784711, (3, 2): 4.362295432869581, (4, 2): 7.495539342889836,
                  (5, 2): 8.159367898576159, (4, 3): -0.09249506636175525, (5, 3): -0.071584973281401,
                  (5, 4): -0.02826905039406838}.items():
    TA[i][j] = v
for i in range(1, 7):
    TA[i][0] = TC[i] - sum(TA[i][1:i])
TA[6][:6] = TB[:6]


def tsit45(f, jac, rtol, atol):
    """(answer or None, right-hand sides, Jacobians)."""
    y, t, fy = 0.0, 0.0, f(0.0)
    h, nf, rejected = first_step(f, y, fy, rtol, atol, 4), 2, 0
    while t < 1 - 1e-15:
        h = min(h, 1 - t)
        k = [fy] + [0.0] * 6
        for i in range(1, 7):
            k[i] = safe(f, y + h * sum(TA[i][j] * k[j] for j in range(i)))
            nf += 1
        y1 = y + h * sum(TA[6][j] * k[j] for j in range(6))
        n = norm(h * sum(TD[j] * k[j] for j in range(7)), y, rtol, atol)
        if n <= 1 and math.isfinite(y1):
            t, y, fy, rejected = t + h, y1, k[6], 0
        else:
            rejected += 1
            if rejected > 40:
                return None, nf, 0
        h *= factor(n, 0.1, 0.5, 2.0)
    return y, nf, 0


def rosenbrock(stages):
    """A Rosenbrock solver in the transformed form of Hairer and Wanner (IV.7): stage i solves
    (1/(h gamma) - J) k_i = f(y + sum a_ij k_j) + sum (C_ij / h) k_j; `stages` gives gamma,
    the a and C rows, how the answer and the error come from the k, and the error's order."""
    gamma, a, c, answer, error, order = stages

    def solve(f, jac, rtol, atol):
        y, t, fy = 0.0, 0.0, f(0.0)
        h, nf, nj, rejected = first_step(f, y, fy, rtol, atol, order), 2, 0, 0
        while t < 1 - 1e-15:
            h = min(h, 1 - t)
            w = 1 / (h * gamma) - jac(y)
            nj += 1
            k = []
            for i in range(len(a)):
                u = y + sum(aij * kj for aij, kj in zip(a[i], k))
                fu = fy if i == 0 else safe(f, u)
                nf += i > 0
                k.append((fu + sum(cij * kj for cij, kj in zip(c[i], k)) / h) / w)
            y1 = answer(y, k)
            n = norm(error(k), y, rtol, atol)
            if n <= 1 and math.isfinite(y1):
                t, y, rejected = t + h, y1, 0
                fy = f(y)
                nf += 1
            else:
                rejected += 1
                if rejected > 40:
                    return None, nf, nj
            h *= factor(n, 0.5 / (order + 1), 0.2, 5.0)
        return y, nf, nj

    return solve


# Rodas4 (Hairer-Wanner), stiffly accurate: the sixth stage's input is the answer, k6 the error
R4A = [[], [1.544], [0.9466785280815826, 0.2557011698983284],
       [3.314825187068521, 2.896124015972201, 0.9986419139977817],
       [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950],
       [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950, 1.0]]
R4C = [[], [-5.6688], [-2.430093356833875, -0.2063599157091915],
       [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
       [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160],
       [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054]]
RODAS4 = (0.25, R4A, R4C, lambda y, k: y + sum(a * kk for a, kk in zip(R4A[5], k)) + k[5], lambda k: k[5], 3)

def main():
    rng = random.Random(1)
    box = [([rng.uniform(-2, 2) for _ in range(16)], [rng.uniform(-1, 1) for _ in range(16)]) for _ in range(200)]
    driven = [([rng.uniform(0.3, 1.0) * 2 * math.copysign(1, ai) for ai in a], a) for _, a in box[:100]]
    methods = [("tsit45", tsit45), ("rodas4", rosenbrock(RODAS4))]
    print(f"{'points':<8} {'rtol':>6} {'method':<8} {'rhs/solve':>10} {'jac/solve':>10} {'max error (V)':>14} {'failed':>7}")
    for name, points in [("box", box), ("driven", driven)]:
        reference = [tsit45(*node(x, a), 1e-12, 1e-14)[0] for x, a in points]
        for rtol in [1e-7, 1e-5, 1e-4, 1e-3]:
            for label, method in methods:
                counts, jacs, errors, failed = [], [], [], 0
                for (x, a), ref in zip(points, reference):
                    y, nf, nj = method(*node(x, a), rtol, rtol / 100)
                    if y is None:
                        failed += 1
                        continue
                    counts.append(nf)
                    jacs.append(nj)
                    errors.append(abs(y - ref))
                print(f"{name:<8} {rtol:>6.0e} {label:<8} {sum(counts) / len(counts):>10.1f} "
                      f"{sum(jacs) / len(jacs):>10.1f} {max(errors):>14.1e} {failed:>7}")


if __name__ == "__main__":
    main()
