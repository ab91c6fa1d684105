"""Benchmark: wild cluster bootstrap (and twfe) against wildboottest and pyfixest.

One run, identical data for every tool, each tool in its own subprocess so that
its peak memory (ru_maxrss) is its own. Data: pupils nested in 43 municipalities,
8 years, treatment switched on in half of the municipalities from year 4.

    .venv/bin/python benchmarks/bench_wild_bootstrap.py            # 200,000 pupils = 1.6 M rows
    .venv/bin/python benchmarks/bench_wild_bootstrap.py --units 20000   # quicker

Columns: seconds of the call (imports and data loading excluded), peak_MB = the
process's peak RSS, own_MB = peak minus the RSS after imports and loading.

Scenarios (same seed -> same draws for all three tools, so the p-values must agree):
  A  unit + year FE, full size, 9,999 draws: ours only. pyfixest's .wildboottest()
     and wildboottest need the unit effects as dense dummies (N x units doubles).
  B  year FE only (as dummies for the peers), full size, 9,999 draws: all three.
  C  unit + year FE on a 2,000-pupil subsample, 9,999 draws: ours vs pyfixest.
  D  twfe() vs pyfixest.feols, unit + year FE, CRV1 by municipality, full size.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

REPS, SEED, G = 9999, 20261123, 43


def make_data(units: int, periods: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    muni = rng.integers(0, G, units)
    unit = np.repeat(np.arange(units), periods)
    year = np.tile(np.arange(2015, 2015 + periods), units)
    c = muni[unit]
    d = ((rng.random(G) < 0.5)[c] & (year >= 2019)).astype(float)
    y = (0.02 * d + rng.normal(size=units)[unit] + 0.1 * (year - 2015) + 0.05 * rng.normal(size=G)[c]
         + 0.03 * rng.normal(size=(G, periods))[c, year - 2015] + rng.normal(size=len(unit)))
    return pd.DataFrame({"unit": unit, "year": year, "muni": c, "d": d, "y": y})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- workers
def worker(name: str, path: str) -> dict:
    warnings.simplefilter("ignore")
    # imports first: they are not part of the timed work
    import pyfixest as pf
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    from evaltools.estimate import twfe, wild_cluster_bootstrap

    df = pd.read_parquet(path)
    if name.startswith("C"):
        df = df[df["unit"] < 2000].reset_index(drop=True)
    base = peak_mb()  # after imports and data: the tool's own memory is peak - base
    out: dict = {"rows": len(df)}
    t0 = time.perf_counter()
    if name in ("A_ours", "C_ours", "B_ours"):
        fe = ["year"] if name == "B_ours" else ["unit", "year"]
        r = wild_cluster_bootstrap(df, "y", "d", cluster="muni", fixed_effects=fe, n_boot=REPS, seed=SEED)
        out.update(p=r.pvalue, t=r.t_stat)
    elif name in ("B_pyfixest", "C_pyfixest"):
        fml = "y ~ d | year" if name == "B_pyfixest" else "y ~ d | unit + year"
        fit = pf.feols(fml, df, vcov={"CRV1": "muni"})
        r = fit.wildboottest(reps=REPS, param="d", seed=SEED)
        out.update(p=float(r["Pr(>|t|)"]), t=float(r["t value"]))
    elif name == "B_wildboottest":
        X = pd.get_dummies(df["year"], prefix="y", drop_first=True).astype(float)
        X.insert(0, "d", df["d"])
        X.insert(0, "const", 1.0)
        r = wildboottest(sm.OLS(df["y"], X), B=REPS, cluster=df["muni"].to_numpy(), param="d", seed=SEED,
                         show=False)
        out.update(p=float(r["p-value"].iloc[0]), t=float(np.ravel(r["statistic"].iloc[0])[0]))
    elif name == "D_ours":
        r = twfe(df, "y", "d", "unit", "year", cluster="muni")
        out.update(coef=r.estimate.estimate, se=r.estimate.se)
    elif name == "D_pyfixest":
        fit = pf.feols("y ~ d | unit + year", df, vcov={"CRV1": "muni"})
        out.update(coef=float(fit.coef()["d"]), se=float(fit.se()["d"]))
    else:
        raise ValueError(name)
    out.update(seconds=time.perf_counter() - t0, peak_mb=peak_mb(), data_mb=base)
    return out


def run(name: str, path: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", name, "--data", path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=200_000)
    ap.add_argument("--worker")
    ap.add_argument("--data")
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.data)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "panel.parquet")
        df = make_data(a.units)
        df.to_parquet(path)
        print(f"data: {len(df):,} rows, {a.units:,} pupils x 8 years, {G} clusters; {REPS:,} Rademacher draws, "
              f"seed {SEED}")
        dense_gb = len(df) * a.units * 8 / 1e9
        rows = []
        for scen, names in [("A unit+year FE", ["A_ours"]),
                            ("B year FE", ["B_ours", "B_wildboottest", "B_pyfixest"]),
                            ("C unit+year FE, 2,000 pupils", ["C_ours", "C_pyfixest"]),
                            ("D twfe point+SE", ["D_ours", "D_pyfixest"])]:
            ours = None
            for n in names:
                r = run(n, path)
                if ours is None:
                    ours = r
                tool = n.split("_", 1)[1]
                stat = r.get("p", r.get("coef", np.nan))
                rows.append({"scenario": scen, "tool": tool, "rows": r.get("rows"),
                             "seconds": r.get("seconds"), "peak_MB": r.get("peak_mb"),
                             "own_MB": (r["peak_mb"] - r["data_mb"]) if "peak_mb" in r else None,
                             "p_or_coef": stat,
                             "time_ratio_vs_ours": (r["seconds"] / ours["seconds"]) if "seconds" in r and
                             "seconds" in ours else None,
                             "note": r.get("error", "")})
            if scen.startswith("A"):
                for tool in ("wildboottest", "pyfixest"):
                    rows.append({"scenario": scen, "tool": tool, "note":
                                 f"not run: unit FE as dense dummies = {dense_gb:,.0f} GB"})
        table = pd.DataFrame(rows)
        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.float_format", lambda x: f"{x:,.4g}"):
            print(table.to_string(index=False))


if __name__ == "__main__":
    main()
