"""Fit the float32 tanh table of fastmath.pxd (NOTE [ Fast tanh ]) and check it.

    python tools/fit_tanhf.py            print the C table and the measured error
    python tools/fit_tanhf.py --check    also check every float32 in (0, 10.5) (a minute)

|x| is cut into slots by its bit pattern: slot 0 is [0, 0.125), then four slots per binade
(the top two mantissa bits) up to the clamp at 10, where the polynomial is 1 (float32 tanh is 1 from 9.01).  On each
slot, tanh(b + y) for y = |x| - b in [0, slot width) is a degree-5 polynomial, fitted by
weighted least squares on Chebyshev nodes with Lawson's reweighting toward the minimax fit,
weights 1/ulp(tanh).  Slot 0 keeps c0 = 0 and c1 = 1 so that tiny arguments come back
exactly.  The error is measured with the kernel's float32 steps (no FMA).
"""
import argparse

import numpy as np

DEGREE = 5
CLAMP = np.float32(10.0)
SHIFT = 21                                  # 4 slots per binade: 2 mantissa bits
FIRST = int(np.float32(0.125).view(np.uint32)) >> SHIFT     # slot 1 starts at 0.125
SLOTS = 32                                  # table width (two AVX-512 registers)


def slot_range(i):
    if i == 0:
        return 0.0, 0.125
    lo = float(np.uint32((i - 1 + FIRST) << SHIFT).view(np.float32))
    hi = float(np.uint32((i + FIRST) << SHIFT).view(np.float32))
    return lo, min(hi, float(CLAMP))


def used_slots():
    return (int(CLAMP.view(np.uint32)) >> SHIFT) - FIRST + 2


def fit(i, nodes=4000, rounds=60):
    lo, hi = slot_range(i)
    k = np.arange(nodes)
    y = (hi - lo) * (0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / nodes))
    t = np.tanh(lo + y)
    if i == 0:      # c0 = 0, c1 = 1: fit tanh(y) - y, relative to tanh
        powers, rhs, fixed = range(2, DEGREE + 1), t - y, [0.0, 1.0]
        w = 1.0 / t
    else:
        powers, rhs, fixed = range(DEGREE + 1), t, []
        below = np.nextafter(t.astype(np.float32), np.float32(0))   # ulp below 1 near 1
        w = 1.0 / np.spacing(below).astype(np.float64)
    A = np.stack([y ** j for j in powers], 1)
    ww = w.copy()
    for _ in range(rounds):
        c, *_ = np.linalg.lstsq(A * ww[:, None], rhs * ww, rcond=None)
        e = np.abs(A @ c - rhs) * w
        ww = ww * np.sqrt(e / e.max()) + 1e-30 * w
        ww *= w.max() / ww.max()
    return lo, fixed + list(c)


def table():
    """float32 [DEGREE + 2, SLOTS]: row 0 the slot starts b, row 1 + j the coefficient c_j."""
    T = np.zeros((DEGREE + 2, SLOTS), np.float32)
    for i in range(used_slots() - 1):
        lo, c = fit(i)
        T[0, i] = lo
        T[1:, i] = c
    T[0, used_slots() - 1] = CLAMP           # |x| >= the clamp: exactly 1
    T[1, used_slots() - 1] = 1.0
    return T


def evaluate(T, x):
    """tanh(x) with the kernel's float32 steps."""
    x = np.asarray(x, np.float32)
    a = np.minimum(np.abs(x), CLAMP)
    i = np.maximum((a.view(np.uint32).astype(np.int64) >> SHIFT) - (FIRST - 1), 0)
    y = a - T[0, i]
    r = T[DEGREE + 1, i]
    for j in range(DEGREE, 0, -1):
        r = r * y + T[j, i]
    return np.where(np.isnan(x), x, np.copysign(r, x))


def ulp_error(T, x):
    truth = np.tanh(x.astype(np.float64))
    got = evaluate(T, x).astype(np.float64)
    return np.abs(got - truth) / np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)


def _literal(v):
    """A C float literal that reads back as v exactly."""
    s = f"{float(v):.9g}"
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="check every float32 in (0, 10.5)")
    args = p.parse_args()
    T = table()
    print(f"static const float strided_tanhf_table[{DEGREE + 2}][{SLOTS}] = {{")
    for row in T:
        vals = [_literal(v) for v in row]
        print("    {" + ", ".join(vals) + "},")
    print("};")
    x = np.linspace(0, 9.5, 2_000_001).astype(np.float32)
    print(f"max error on a grid of [0, 9.5]: {ulp_error(T, x).max():.3f} ulp")
    x = np.linspace(0, 12, 2_000_001).astype(np.float32)
    below = x[evaluate(T, x) < 1]
    print(f"exactly 1 from |x| = {below.max():.4f} on (float32 tanh is 1 from 9.0109)")
    if args.check:
        worst, where = 0.0, 0.0
        top = int(np.float32(10.5).view(np.uint32))
        for start in range(1, top, 1 << 24):
            x = np.arange(start, min(start + (1 << 24), top), dtype=np.uint32).view(np.float32)
            e = ulp_error(T, x)
            if e.max() > worst:
                worst, where = float(e.max()), float(x[e.argmax()])
        print(f"max error over every float32 in (0, 10.5): {worst:.3f} ulp at {where!r}")


if __name__ == "__main__":
    main()
