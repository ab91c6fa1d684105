"""Disclosure control: cost and safety of complementary suppression, measured once.

Builds random 2-way count tables with margins (a share of small cells) once, then on
the same tables compares:

* ``line rule``: the textbook rule alone (hide the next-smallest cell while a row or
  column has exactly one hidden cell), i.e. step 1 of ``protect``;
* ``protect``: ``evaltools.report.disclosure.protect`` (step 1 plus the
  determinacy / LP audit and further complements).

For each it prints time per table, hidden cells per table, and how many tables
still let a reader recover a hidden count exactly (checked by the LP attack in
``disclosure.attack`` on the published values). No Python peer is installed here
(ACRO and pytauargus are on PyPI but not in requirements.txt).

Run: ``.venv/bin/python benchmarks/bench_report.py``
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from evaltools.report import disclosure as sdc


def make_tables(n: int, rows: int, cols: int, seed: int) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = rng.random((rows, cols)) < 0.3
        body = np.where(small, rng.integers(0, 12, (rows, cols)), rng.integers(0, 150, (rows, cols)))
        df = pd.DataFrame(body, index=[f"r{i}" for i in range(rows)], columns=[f"c{j}" for j in range(cols)])
        df["Total"] = df.sum(axis=1)
        df.loc["Total"] = df.sum()
        out.append(df)
    return out


def line_rule(df: pd.DataFrame, threshold: int = 10) -> np.ndarray:
    values = df.astype(float)
    A, cells = sdc._constraints(values, list(df.columns), "Total", "Total")
    x = values.to_numpy().ravel()
    is_total = np.array([r == "Total" or c == "Total" for r, c in cells])
    hidden = (x > 0) & (x < threshold)
    sdc._close_lines(x, [np.flatnonzero(a) for a in A], hidden, is_total)
    return hidden


def exposed(df: pd.DataFrame, hidden: np.ndarray) -> bool:
    mask = pd.DataFrame(hidden.reshape(df.shape), index=df.index, columns=df.columns)
    known = df.astype(float).where(~mask)
    return bool(sdc.attack(known, mask, list(df.columns), "Total", "Total"))


def main() -> None:
    rows = []
    for (n, r, c, seed) in ((300, 5, 4, 1), (40, 12, 8, 2)):
        tables = make_tables(n, r, c, seed)
        t0 = time.perf_counter()
        naive = [line_rule(df) for df in tables]
        t_naive = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        ours = [sdc.protect(df) for df in tables]
        t_ours = (time.perf_counter() - t0) / n
        unsafe_naive = sum(exposed(df, h) for df, h in zip(tables, naive))
        unsafe_ours = sum(exposed(df, p.hidden.to_numpy().ravel()) for df, p in zip(tables, ours))
        cells = (r + 1) * (c + 1)
        rows.append({"table": f"{r}x{c} + margins", "tables": n, "method": "line rule",
                     "ms/table": 1000 * t_naive, "hidden/table": np.mean([h.sum() for h in naive]),
                     "cells": cells, "unsafe tables": unsafe_naive})
        rows.append({"table": f"{r}x{c} + margins", "tables": n, "method": "protect",
                     "ms/table": 1000 * t_ours, "hidden/table": np.mean([p.n_hidden() for p in ours]),
                     "cells": cells, "unsafe tables": unsafe_ours})
    out = pd.DataFrame(rows)
    pd.set_option("display.width", 120)
    print(out.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    for table, grp in out.groupby("table", sort=False):
        a, b = grp.iloc[0], grp.iloc[1]
        print(f"{table}: protect costs {b['ms/table'] / max(a['ms/table'], 1e-9):.0f}x the line rule's time "
              f"and hides {b['hidden/table'] - a['hidden/table']:.2f} more cells per table; unsafe tables "
              f"{a['unsafe tables']} -> {b['unsafe tables']}")


if __name__ == "__main__":
    main()
