"""Cost of the attacker that runs on every run (``evaltools.report.attack.attack_run``).

Runs the largest shipped study (``dropout_prevention`` with ``params/dropout_prevention.yaml``)
unless a run folder is given, then times ``attack_run`` on that folder: everything it
publishes (results.json, tables/*.csv and *.xlsx), all records together. Also times the
attack on a synthetic worst case: the municipal indicators table for 40 municipalities
with shares, totals and a linked yearly series (every share an implied count, two LPs per
hidden or implied count).

Usage: python benchmarks/bench_attack.py [RUN_DIR] [repeats]
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from evaltools.report.attack import _Num, attack_records, attack_run  # noqa: E402
from evaltools.report.disclosure import Link, protect_linked  # noqa: E402
from evaltools.report.record import to_jsonable  # noqa: E402


def latest_run() -> Path:
    cmd = [str(Path(sys.executable).parent / "evaltools"), "run", "dropout_prevention",
           "-p", "params/dropout_prevention.yaml"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    runs = sorted((ROOT / "reports" / "dropout_prevention").glob("*-dropout_prevention"))
    return runs[-1]


def synthetic_records(units: int = 40, years: int = 10, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 3000, size=units)
    table = pd.DataFrame({"pupil_years": n, "left": rng.binomial(n, 0.012), "repeated": rng.binomial(n, 0.02)},
                         index=[f"municipality {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(units)])
    table.loc["Total"] = table.sum()
    table["left_pct"] = 100 * table["left"] / table["pupil_years"]
    table["repeated_pct"] = 100 * table["repeated"] / table["pupil_years"]
    table["absences_mean"] = rng.uniform(20, 60, size=len(table))
    first = table.index[0]
    yearly = pd.DataFrame({"pupil_years": np.full(years, 0), "left": np.full(years, 0)},
                          index=pd.Index(range(2014, 2014 + years), name="year"))
    yearly["pupil_years"] = np.diff(np.linspace(0, table.at[first, "pupil_years"], years + 1).round()).astype(int)
    yearly["left"] = np.diff(np.linspace(0, table.at[first, "left"], years + 1).round()).astype(int)
    yearly["left_pct"] = 100 * yearly["left"] / yearly["pupil_years"].where(yearly["pupil_years"] > 0)
    out = protect_linked(
        {"indicators": {"data": table.drop(columns="repeated"), "counts": ["pupil_years", "left"],
                        "denominators": {"left_pct": "pupil_years", "repeated_pct": "pupil_years",
                                         "absences_mean": "pupil_years"},
                        "numerators": {"left_pct": "left"}, "shares": {"repeated_pct": 100},
                        "total_row": "Total", "total_col": None},
         "trend": {"data": yearly, "counts": ["pupil_years", "left"], "denominators": {"left_pct": "pupil_years"},
                   "numerators": {"left_pct": "left"}, "total_row": None, "total_col": None}},
        [Link(("indicators", first, c), [("trend", y, c) for y in yearly.index]) for c in ("pupil_years", "left")],
    )
    text = json.dumps({k: {"value": to_jsonable(v)} for k, v in out.items()})
    return json.loads(text, parse_float=_Num)


def timed(fn, repeats: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def main() -> None:
    run = Path(sys.argv[1]) if len(sys.argv) > 1 else latest_run()
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    files = [p for p in run.rglob("*") if p.is_file()]
    med, best, found = timed(lambda: attack_run(run, 10), repeats)
    print(f"run folder: {run.relative_to(ROOT) if run.is_relative_to(ROOT) else run} "
          f"({len(files)} files, {sum(p.stat().st_size for p in files) / 1024:.0f} KiB)")
    print(f"attack_run: median {med:.3f} s, best {best:.3f} s over {repeats} repeats; findings: {len(found)}")
    records = synthetic_records()
    med, best, found = timed(lambda: attack_records(records, 10), repeats)
    print(f"synthetic worst case (40 municipalities, 10 linked years): median {med:.3f} s, best {best:.3f} s; "
          f"findings: {len(found)}")


if __name__ == "__main__":
    main()
