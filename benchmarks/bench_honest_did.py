"""Benchmark: evaltools.inference.honest_did against the peer diff-diff on identical inputs.

Data: the R HonestDiD example BCdata_EventStudy (4 pre + 4 post periods), from
tests/fixtures/honestdid_reference.json.

* FLCI under Delta^SD(M), M in {0.01, 0.05, 0.2}: ours (one convex programme) vs
  diff-diff 3.13 ``diff_diff.honest_did._compute_optimal_flci`` (the FLCI behind
  ``HonestDiD(method="smoothness")``; private function, called directly because the
  public class needs a fitted diff-diff results object). Same interval expected.
* Delta^RM(Mbar = 1): ours (ARP conditional-LF hybrid on R's 1000-point grid, the R
  package's default) vs diff-diff's ``_solve_rm_bounds_union`` + ``_compute_flci``
  (identified-set bounds widened by z * se: a different and, by diff-diff's own comment,
  not the paper's CI; timed only for scale).
* A whole sensitivity analysis as a user runs it: ``honest_did`` with the default grid
  (10 values) and the breakdown value, for each method.

Run: ``.venv/bin/python benchmarks/bench_honest_did.py``. Each timing is the best of 3.
Reference for the R package: HonestDiD.jl's README quotes about 0.8 s in R for one
conditional CI (``computeConditionalCS_DeltaSD``) on its example; R is not installed here.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
from diff_diff.honest_did import _compute_flci, _compute_optimal_flci, _solve_rm_bounds_union

from evaltools.inference.honest_did import flci, honest_did

FIX = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "honestdid_reference.json"


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    bc = json.loads(FIX.read_text())["bc_data"]
    b, s = np.array(bc["betahat"]), np.array(bc["sigma"])
    lv = np.eye(4)[0]
    rows = []
    for m in (0.01, 0.05, 0.2):
        t_ours, ours = best(lambda: flci(b, s, 4, 4, m))
        t_peer, peer = best(lambda: _compute_optimal_flci(b[:4], b[4:], s, lv, 4, 4, m))
        same = bool(np.allclose(ours, peer, atol=1e-6))
        rows.append((f"FLCI M={m}", t_ours, "diff-diff FLCI", t_peer,
                     f"same CI (1e-6): {same}; length ours-peer "
                     f"{(ours[1] - ours[0]) - (peer[1] - peer[0]):.1e}"))

    t_ours, res = best(lambda: honest_did(b, s, 4, 4, mbar_grid=[1.0], breakdown=False))

    def dd_rm():
        lo, hi = _solve_rm_bounds_union(b[:4], b[4:], lv, 4, 1.0)
        return _compute_flci(lo, hi, float(np.sqrt(s[4, 4])), 0.05)

    t_peer, peer = best(dd_rm)
    ours = tuple(res.table[["lower", "upper"]].iloc[0])
    rows.append(("RM Mbar=1 ARP C-LF", t_ours, "diff-diff id. set +- z se", t_peer,
                 f"ours [{ours[0]:.4f}, {ours[1]:.4f}], peer [{peer[0]:.4f}, {peer[1]:.4f}]"
                 " (different method)"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("smoothness", "relative_magnitude"):
            t, r = best(lambda: honest_did(b, s, 4, 4, method=method))
            rows.append((f"honest_did({method}) 10 values + breakdown", t, "-", float("nan"),
                         f"breakdown {r.breakdown:.4g}"))

    print(f"{'task':<46} {'ours s':>8} {'peer':<26} {'peer s':>8} {'peer/ours':>9}  note")
    for task, t_o, peer_name, t_p, note in rows:
        ratio = t_p / t_o if np.isfinite(t_p) else float("nan")
        print(f"{task:<46} {t_o:>8.3f} {peer_name:<26} {t_p:>8.3f} {ratio:>9.1f}  {note}")


if __name__ == "__main__":
    main()
