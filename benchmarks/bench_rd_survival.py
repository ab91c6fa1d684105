"""Benchmark: discrete-time hazard (logit, grade dummies, cluster-robust SEs), ours vs peers.

The RD and Kaplan-Meier helpers only wrap rdrobust/rddensity and lifelines, so the
one speed question is the hazard model at national scale: our IRLS on the normal
equations against statsmodels' GLM (which our ``engine="statsmodels"`` calls) and
pyfixest's ``feglm`` (logit only; grade as a fixed effect).

Data (built once, shared through a Parquet file): N pupils (default 150,000) at risk
in grades 1-8, leaving drawn from a logit hazard with grade intercepts, one
covariate and a treatment (true log OR -0.5), 800 schools as clusters: about a
million pupil-years. "seconds" is wall time, "CPU s" user + system CPU time (less
sensitive to other load on a shared machine); each implementation runs in its own
subprocess so that "peak MB" (ru_maxrss, including the data and the libraries) is
its own.

    .venv/bin/python benchmarks/bench_rd_survival.py             # ~1 M pupil-years
    .venv/bin/python benchmarks/bench_rd_survival.py --n 20000   # quicker
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from _isolated import run_isolated

RUNNERS = {
    "evaltools (irls)": ("from evaltools.estimate import discrete_time_hazard", """
r = discrete_time_hazard(df, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
out = (r.table.loc["d", "coef"], r.table.loc["d", "se"])
"""),
    "evaltools + cum. incidence": ("from evaltools.estimate import discrete_time_hazard", """
r = discrete_time_hazard(df, "pupil", "grade", "left", covariates="x", treatment="d", cluster="school")
c = r.cumulative_incidence()
out = (r.table.loc["d", "coef"], r.table.loc["d", "se"])
"""),
    "statsmodels GLM": ("import statsmodels.api as sm", """
X = pd.get_dummies(df["grade"], prefix="g").astype(float)
X["x"] = df["x"]; X["d"] = df["d"].astype(float)
m = sm.GLM(df["left"].astype(float), X, family=sm.families.Binomial()).fit(
    cov_type="cluster", cov_kwds={"groups": pd.factorize(df["school"])[0]})
out = (m.params["d"], m.bse["d"])
"""),
    "pyfixest feglm": ("import pyfixest as pf", """
m = pf.feglm("left ~ x + d + C(grade)", df, family="logit", vcov={"CRV1": "school"})
out = (m.coef()["d"], m.se()["d"])
"""),
}



def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """Person-period rows of ``n`` pupils, grades 1-8, logit hazard with known log OR -0.5."""
    rng = np.random.default_rng(seed)
    alpha = np.linspace(-3.0, -2.0, 8)
    x = rng.normal(size=n)
    d = (rng.random(n) < 0.4).astype(int)
    h = 1 / (1 + np.exp(-(alpha[None, :] + (0.5 * x - 0.5 * d)[:, None])))
    ev = rng.random(h.shape) < h
    stop = np.where(ev.any(axis=1), ev.argmax(axis=1), 7)  # index of the last grade at risk
    length = stop + 1
    rows = np.repeat(np.arange(n), length)
    grade = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length) + 1
    left = ((grade == np.repeat(length, length)) & np.repeat(ev.any(axis=1), length)).astype(int)
    return pd.DataFrame({"pupil": rows, "grade": grade, "left": left, "x": x[rows], "d": d[rows],
                         "school": rng.integers(0, 800, n)[rows]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150_000, help="number of pupils")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    ap.add_argument("--only", nargs="*", default=None, help="subset of runners")
    args = ap.parse_args()

    df = make_data(args.n)
    print(f"data: {args.n:,} pupils, {len(df):,} pupil-years, {df['left'].sum():,} events, 800 school "
          f"clusters; logit with 8 grade dummies + x + d; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    results = run_isolated(df, RUNNERS, timeout=args.timeout, only=args.only)

    ours = results.get("evaltools (irls)", {}).get("sec")
    print()
    print(f"{'implementation':<28}{'seconds':>9}{'CPU s':>8}{'peak MB':>9}{'x ours':>8}{'coef d':>12}{'SE d':>11}")
    for name, r in results.items():
        if "sec" not in r:
            print(f"{name:<28}  {r['error']}")
            continue
        ratio = r["sec"] / ours if ours else float("nan")
        print(f"{name:<28}{r['sec']:>9.2f}{r['cpu']:>8.2f}{r['peak_mb']:>9.0f}{ratio:>8.1f}"
              f"{r['out'][0]:>12.6f}{r['out'][1]:>11.6f}")
    print(f"(true log OR -0.5; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
