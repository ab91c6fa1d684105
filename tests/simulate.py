"""Simulators shared by several test files (one place, so that a design is written once).

``staggered_panel``: staggered adoption with known group-time effects, for att_gt, the
event study, HonestDiD and the Monte Carlo coverage checks
(tests/estimate/diff_in_diff/test_att_gt*.py, tests/inference/test_honest_did_event_study.py).
Import it as ``from tests.simulate import staggered_panel``. Units ``id``, periods ``t`` = 1..T, cohort ``g``
(0 = never treated), covariate ``x``, outcome ``y``:

Y_it = a_i + l_t + b * x_i * t / T + tau_i(g, t) + e_it, with cohort membership
depending on x (so conditional, not unconditional, parallel trends hold when b != 0),
and a heterogeneous, dynamic effect tau(g, t) = true_att(g, t) for t >= g.

A simulator used by one test file stays in that file. This module holds no tests.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def true_att(g: float, t: float) -> float:
    """ATT(g, t): grows with exposure and differs across cohorts."""
    return 0.0 if t < g else 1.0 + 0.5 * (t - g) + 0.25 * (g - 3)


def staggered_panel(n: int = 2000, T: int = 6, cohorts=(3, 4, 5), b: float = 0.0, seed: int = 0,
                    pretrend: float = 0.0, anticipation: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    # cohort probabilities depend on x: never treated more likely for low x
    logits = np.column_stack([np.zeros(n)] + [0.4 * x * (k + 1) for k in range(len(cohorts))])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    choice = (p.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    g = np.array((0,) + tuple(cohorts), dtype=float)[choice]
    a = rng.normal(size=n) + 0.5 * x
    t = np.arange(1, T + 1, dtype=float)
    G = np.repeat(g, T)
    tt = np.tile(t, n)
    X = np.repeat(x, T)
    # with anticipation k the effect starts k periods before the cohort's date g
    tau = np.array([true_att(gi - anticipation, ti) if gi > 0 else 0.0 for gi, ti in zip(G, tt)])
    # a violation of parallel trends before treatment for the first cohort
    viol = pretrend * (G == cohorts[0]) * (tt < G) * tt
    y = np.repeat(a, T) + 0.3 * tt + b * X * tt / T + tau + viol + rng.normal(scale=0.5, size=n * T)
    return pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": tt, "g": G, "x": X, "y": y})


def cohort_shares(df: pd.DataFrame) -> dict[float, float]:
    first = df.drop_duplicates("id")
    return first["g"].value_counts(normalize=True).to_dict()


def true_simple(df: pd.DataFrame, T: int) -> float:
    """The simple aggregation of the true ATT(g, t) with cohort-share weights."""
    sh = cohort_shares(df)
    num = den = 0.0
    for g, p in sh.items():
        if g == 0:
            continue
        for t in range(int(g), T + 1):
            num += p * true_att(g, t)
            den += p
    return num / den
