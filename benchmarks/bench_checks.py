"""The check pass of the loader at national scale: ``check_table`` (vectorised) against the
codebook's pandera schema validated on the same table (the reference the tests compare with).

Each table of the national data set (default /tmp/natl, built by ``national_scale.py``) is read
once; the seconds of ``evaltools.data.checks.check_table`` and of ``schemas.schema(table).validate``
(lazy, as the loader ran it before) are printed with the rows. Both find nothing on clean data;
``tests/data/test_checks_vectorised.py`` shows they find the same on broken data.

Usage: python benchmarks/bench_checks.py [--data DIR] [TABLE ...]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", nargs="*", default=["pupil_years", "assessments", "risk_scores", "teacher_years"])
    ap.add_argument("--data", type=Path, default=Path("/tmp/natl"))
    args = ap.parse_args()
    import pandera.pandas as pa

    from evaltools.data.checks import check_table
    from evaltools.data.schemas import schema

    print(f"{'table':<16} {'rows':>10} {'check_table s':>14} {'pandera s':>10}")
    for table in args.tables:
        df = pd.read_parquet(args.data / f"{table}.parquet")
        t0 = time.perf_counter()
        checked, found = check_table(df, table, table)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                schema(table).validate(checked, lazy=True)
            except pa.errors.SchemaErrors:
                pass
        t2 = time.perf_counter()
        found_text = f"  ({len(found)} problems)" if found else ""
        print(f"{table:<16} {len(df):>10,} {t1 - t0:>14.2f} {t2 - t1:>10.2f}{found_text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
