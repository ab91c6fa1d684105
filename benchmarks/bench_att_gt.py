"""Benchmark: Callaway-Sant'Anna att_gt + simple + dynamic aggregation, ours vs peers.

Data (built once, shared through a Parquet file): N units x 8 periods (default
N = 200,000), cohorts 3..7 plus never treated, one time-invariant covariate,
heterogeneous dynamic effects. Every run uses method "dr", never-treated controls,
varying base period and analytic SEs (plus one run of ours with a 999-draw
multiplier bootstrap). "seconds" is wall time, "CPU s" user + system CPU time (less
sensitive to other load on a shared machine). Each implementation runs in its own
subprocess so that peak memory (ru_maxrss) is its own; "peak MB" includes the loaded
data and the imported libraries, "data MB" is the resident size after loading both
(the clock starts then).

    .venv/bin/python benchmarks/bench_att_gt.py            # full size, all peers
    .venv/bin/python benchmarks/bench_att_gt.py --n 20000  # quicker
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from _isolated import run_isolated

# (import, timed code): imports are done before the clock starts
RUNNERS = {
    "evaltools": ("from evaltools.estimate import att_gt", """
r = att_gt(df, "y", "id", "t", "g", covariates="x", method="dr")
s = r.aggregate("simple"); d = r.aggregate("dynamic")
out = (s.overall.estimate, s.overall.se, d.overall.estimate, d.overall.se)
"""),
    "evaltools+boot999": ("from evaltools.estimate import att_gt", """
r = att_gt(df, "y", "id", "t", "g", covariates="x", method="dr", n_boot=999, seed=1)
s = r.aggregate("simple"); d = r.aggregate("dynamic")
out = (s.overall.estimate, s.overall.se, d.overall.estimate, d.overall.se)
"""),
    "csdid 0.4.3": ("from csdid.att_gt import ATTgt", """
m = ATTgt(yname="y", gname="g", idname="id", tname="t", data=df, xformla="y~x")
m.fit(est_method="dr", bstrap=False)
m.aggte(typec="simple", bstrap=False); a = m.atte
s = (a["overall_att"], a["overall_se"])
m.aggte(typec="dynamic", bstrap=False); a = m.atte
out = (s[0], s[1], a["overall_att"], a["overall_se"])
"""),
    "diff-diff 3.13": ("from diff_diff import CallawaySantAnna", """
cs = CallawaySantAnna(estimation_method="dr", control_group="never_treated")
r = cs.fit(df, outcome="y", unit="id", time="t", first_treat="g", covariates=["x"],
           aggregate="event_study")
post = [v["effect"] for e, v in r.event_study_effects.items() if e >= 0]
out = (r.overall_att, r.overall_se, float(np.mean(post)), float("nan"))
"""),
}



def make_data(n: int, T: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([0, 3, 4, 5, 6, 7]), size=n, p=[0.3, 0.14, 0.14, 0.14, 0.14, 0.14])
    x = rng.normal(size=n)
    t = np.tile(np.arange(1, T + 1), n)
    G = np.repeat(g, T)
    X = np.repeat(x, T)
    effect = (G > 0) * (t >= G) * (1.0 + 0.2 * (t - G) + 0.1 * G)
    y = (np.repeat(rng.normal(size=n), T) + 0.1 * t + 0.5 * X * t / T + effect
         + rng.normal(size=n * T))
    return pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": t, "g": G, "x": X, "y": y})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="number of units")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per peer run")
    ap.add_argument("--only", nargs="*", default=None, help="subset of runners")
    args = ap.parse_args()

    df = make_data(args.n)
    print(f"data: {args.n:,} units x 8 periods = {len(df):,} rows, cohorts 3-7 + never, "
          f"1 covariate; method dr, never-treated, analytic SEs; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = run_isolated(df, RUNNERS, timeout=args.timeout, only=args.only,
                           prepare='df["id"] = df["id"].astype("int64")')

    ours = results.get("evaltools", {}).get("sec")
    peers = [r["sec"] for k, r in results.items() if not k.startswith("evaltools") and "sec" in r]
    print()
    print(f"{'implementation':<20}{'seconds':>10}{'CPU s':>8}{'peak MB':>10}{'data MB':>10}"
          f"{'x ours':>9}"
          f"{'simple ATT':>13}{'SE':>11}{'dynamic':>11}")
    for name, r in results.items():
        if "sec" not in r:
            print(f"{name:<20}  {r['error']}")
            continue
        ratio = r["sec"] / ours if ours else float("nan")
        o = r["out"]
        print(f"{name:<20}{r['sec']:>10.2f}{r['cpu']:>8.2f}{r['peak_mb']:>10.0f}"
              f"{r['data_mb']:>10.0f}{ratio:>9.1f}"
              f"{o[0]:>13.6f}{o[1]:>11.6f}{o[2]:>11.6f}")
    if ours and peers:
        print(f"\nfastest peer / ours = {min(peers) / ours:.1f}x")
    boot = results.get("evaltools+boot999", {})
    if ours:
        peak = results["evaltools"]["peak_mb"]
        print(f"targets (issue 5): <= 1 s: {ours:.2f} s; >= 2x fastest peer: "
              f"{(min(peers) / ours) if peers else float('nan'):.1f}x; "
              f"peak <= 1.5 GB: {peak:.0f} MB; "
              f"999-draw bootstrap <= 3 s: {boot.get('sec', float('nan')):.2f} s "
              f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
