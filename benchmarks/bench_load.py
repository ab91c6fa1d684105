"""Loading one municipality, one region and all of Latvia at national scale: the loader against
plain ``pd.read_parquet`` on the same files.

Each reader runs in a fresh Python process (so that peak memory is its own), reads the tables and
columns a study needs (default: the municipal study's ``NEEDS`` and ``ROWS``) and keeps the area's
rows. ``cold``: the first load in the process, with an empty check cache (every table checked);
``warm``: the same load again in the process, the check cache filled (the files are in the OS page
cache in both: this machine cannot drop it). Reported: wall seconds, CPU seconds (user + system of
every thread: less sensitive to other load on a shared machine; the best of ``--repeat``), peak
resident memory of the process (``ru_maxrss``, with the libraries) and the rows read.

- ``load_dataset``: ``evaltools.data.load_dataset(DIR, needs=, rows=, municipality=/region=)``,
  the checks and the cross-table rules included;
- ``pd.read_parquet``: each table whole (the columns needed), then the area's rows by pandas
  ``isin``, as a notebook without the loader would (no checks);

Write the national data set in the area layout first (``evaltools data layout /tmp/natl14 --out
/tmp/natl14_sorted``), and compare with the generator's files (``--data /tmp/natl14``).

Usage: python benchmarks/bench_load.py [--data DIR] [--municipality NAME] [--region NAME]
       [--study municipal_quality] [--repeat 3] [--readers load_dataset,pd.read_parquet]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, time, importlib
args = json.loads(sys.argv[1])
import numpy as np, pandas as pd, pyarrow.parquet as pq
study = importlib.import_module("evaltools.studies." + args["study"])
NEEDS, ROWS = study.NEEDS, getattr(study, "ROWS", {})
D = args["data"]
area = args["area"]  # {"municipality": name} | {"region": name} | {}

def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024

def loader():
    from evaltools.data import load_dataset
    ds = load_dataset(D, needs=NEEDS, rows=ROWS, **area)
    return {t: len(df) for t, df in ds.tables.items()}

def _ids(tabs):
    mun = pd.read_parquet(f"{D}/municipalities.parquet")
    if "municipality" in area:
        mun = mun[mun["name"] == area["municipality"]]
    elif "region" in area:
        mun = mun[mun["region"] == area["region"]]
    sch = pd.read_parquet(f"{D}/schools.parquet", columns=["school_id", "municipality_id"])
    return set(mun["municipality_id"]), set(sch.loc[sch["municipality_id"].isin(mun["municipality_id"]), "school_id"])

def plain():
    from evaltools.data.schemas import TABLES
    out = {}
    tabs = {}
    for t, cols in NEEDS.items():
        df = pd.read_parquet(f"{D}/{t}.parquet", columns=cols)
        for c, v in ROWS.get(t, {}).items():
            df = df[df[c].isin(v)]
        tabs[t] = df
    if area:
        muns, schools = _ids(tabs)
        pupils = set(pd.read_parquet(f"{D}/pupil_years.parquet", columns=["pupil_id", "school_id"])
                     .query("school_id in @schools")["pupil_id"])
        for t, df in tabs.items():
            if t in ("municipalities", "schools"):
                df = df[df["municipality_id"].isin(muns)]
            elif "school_id" in df:
                df = df[df["school_id"].isin(schools)]
            elif "pupil_id" in df:
                df = df[df["pupil_id"].isin(pupils)]
            tabs[t] = df
    return {t: len(df) for t, df in tabs.items()}

fn = {"load_dataset": loader, "pd.read_parquet": plain}[args["reader"]]
cpu0, _ = usage()
res = {}
for label in ("cold", "warm"):
    c0, _ = usage(); t0 = time.perf_counter()
    rows = fn()
    c1, peak = usage()
    res[label] = {"sec": time.perf_counter() - t0, "cpu": c1 - c0, "peak_mb": peak}
res["rows"] = sum(rows.values())
print(json.dumps(res))
"""


def _run(reader: str, data: str, area: dict[str, str], study: str) -> dict | str:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "EVALTOOLS_CHECK_CACHE": cache}
        args = json.dumps({"reader": reader, "data": data, "area": area, "study": study})
        p = subprocess.run([sys.executable, "-c", CHILD, args], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return (p.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/natl14_sorted")
    ap.add_argument("--municipality", default="Valmieras novads")
    ap.add_argument("--region", default="Vidzeme")
    ap.add_argument("--study", default="municipal_quality", help="whose NEEDS and ROWS are read")
    ap.add_argument("--repeat", type=int, default=3, help="processes per reader and area (the best CPU is shown)")
    ap.add_argument("--readers", default="load_dataset,pd.read_parquet")
    ap.add_argument("--areas", default="municipality,region,latvia")
    args = ap.parse_args()
    areas = {"municipality": {"municipality": args.municipality}, "region": {"region": args.region},
             "latvia": {}}
    print(f"data {args.data}; needs of {args.study}; best CPU of {args.repeat} fresh processes")
    print(f"{'area':<13} {'reader':<16} {'cold CPU-s':>10} {'cold wall':>9} {'warm CPU-s':>10} {'warm wall':>9} "
          f"{'peak MB':>8} {'rows':>10}")
    for name in args.areas.split(","):
        for reader in args.readers.split(","):
            runs = [_run(reader, args.data, areas[name], args.study) for _ in range(args.repeat)]
            bad = [r for r in runs if isinstance(r, str)]
            if bad:
                print(f"{name:<13} {reader:<16} failed: {bad[0]}")
                continue
            cold = min(runs, key=lambda r: r["cold"]["cpu"])["cold"]
            warm = min(runs, key=lambda r: r["warm"]["cpu"])["warm"]
            peak = min(r["warm"]["peak_mb"] for r in runs)
            print(f"{name:<13} {reader:<16} {cold['cpu']:>10.2f} {cold['sec']:>9.2f} {warm['cpu']:>10.2f} "
                  f"{warm['sec']:>9.2f} {peak:>8.0f} {runs[0]['rows']:>10,}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
