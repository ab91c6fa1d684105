"""Benchmark: evaltools.inference against the peers on identical inputs, in one run.

* Romano-Wolf step-down: ours (vectorised running maximum) vs pyfixest's helper
  ``_get_rwolf_pval`` (the loop behind ``pyfixest.rwolf``), B = 9,999 draws, S = 10/50.
* Power of the individual design: ours (noncentral t) vs statsmodels ``TTestIndPower``.
* Exact (noncentral) MDES: ours vs statsmodels ``solve_power``.
* Benjamini-Hochberg on 100,000 p-values: ours (wrapper with a tidy table) vs
  statsmodels ``multipletests`` alone.

Run: ``.venv/bin/python benchmarks/bench_inference.py``. Each timing is the best of 3.
"""
from __future__ import annotations

import time

import numpy as np
from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower

from evaltools.inference import benjamini_hochberg, mdes, power, romano_wolf


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _same_where_finite(ours, ref, rtol) -> str:
    """'True' if equal where the peer returned a number; counts the peer's NaNs."""
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    ok = np.isfinite(ref)
    same = bool(np.allclose(ours[ok], ref[ok], rtol=rtol))
    return f"{same} (peer NaN in {int((~ok).sum())})" if (~ok).any() else str(same)


def _mdes_check(sm, ours, ref, ns) -> str:
    """statsmodels' own power at our MDES, and the largest gap to its solver."""
    pw = [sm.power(effect_size=m, nobs1=n // 2, alpha=0.05) for m, n in zip(ours, ns)]
    gap = float(np.max(np.abs(np.asarray(ours) / np.asarray(ref) - 1)))
    return f"power(ours)=0.8: {np.allclose(pw, 0.8, atol=1e-8)}; solver gap {gap:.1e}"


def main() -> None:
    rng = np.random.default_rng(2026)
    rows = []

    for S in (10, 50):
        cov = 0.5 + 0.5 * np.eye(S)
        tb = rng.multivariate_normal(np.zeros(S), cov, size=9_999)
        t = rng.normal(0, 2, S)
        same = np.allclose(romano_wolf(t, tb).adjusted.to_numpy(), _get_rwolf_pval(t, tb))
        rows.append((f"Romano-Wolf, B=9,999, S={S}", best(lambda: romano_wolf(t, tb)),
                     "pyfixest _get_rwolf_pval", best(lambda: _get_rwolf_pval(t, tb)), same))

    ns = rng.integers(20, 2000, 300) * 2
    es = rng.uniform(0.05, 0.8, 300)
    sm = TTestIndPower()
    ours_p = [power("individual", effect=e, n=n).power for n, e in zip(ns, es)]
    ref_p = [sm.power(effect_size=e, nobs1=n // 2, alpha=0.05) for n, e in zip(ns, es)]
    rows.append(("power, 300 designs", best(lambda: [power("individual", effect=e, n=n)
                                                      for n, e in zip(ns, es)]),
                 "statsmodels TTestIndPower.power",
                 best(lambda: [sm.power(effect_size=e, nobs1=n // 2, alpha=0.05)
                               for n, e in zip(ns, es)]),
                 _same_where_finite(ours_p, ref_p, 1e-10)))

    few = ns[:50]
    ours_m = [mdes("individual", n=n, method="noncentral").mdes for n in few]
    ref_m = [float(np.ravel(sm.solve_power(nobs1=n // 2, alpha=0.05, power=0.8))[0]) for n in few]
    rows.append(("exact MDES, 50 designs",
                 best(lambda: [mdes("individual", n=n, method="noncentral") for n in few]),
                 "statsmodels solve_power",
                 best(lambda: [sm.solve_power(nobs1=n // 2, alpha=0.05, power=0.8) for n in few]),
                 _mdes_check(sm, ours_m, ref_m, few)))

    p = rng.uniform(size=100_000) ** 3
    rows.append(("BH, 100,000 p-values", best(lambda: benjamini_hochberg(p)),
                 "statsmodels multipletests", best(lambda: multipletests(p, method="fdr_bh")),
                 bool((benjamini_hochberg(p).rejected.to_numpy()
                       == multipletests(p, method="fdr_bh")[0]).all())))

    print(f"{'task':32s} {'ours (s)':>10s}  {'peer':34s} {'peer (s)':>10s} {'peer/ours':>9s}  same")
    for task, ours, peer, ref, same in rows:
        print(f"{task:32s} {ours:10.4f}  {peer:34s} {ref:10.4f} {ref / ours:9.2f}  {same}")


if __name__ == "__main__":
    main()
