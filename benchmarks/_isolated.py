"""Time code in a fresh Python process each, so that peak memory is its own.

A runner is ``(imports, code)``: the child loads the data set from a Parquet
file into ``df``, runs ``imports`` before the clock starts, then times ``code``,
which must leave a sequence of numbers in ``out`` (compared across runners).
Reported: wall seconds, CPU seconds (user + system; less sensitive to other load
on a shared machine), peak resident memory (``ru_maxrss``, includes the data and
the libraries) and the resident size before the clock started.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pandas as pd

CHILD = """
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
df = pd.read_parquet(sys.argv[1])
{prepare}
{imports}
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
{code}
sec = time.perf_counter() - t0
ru1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
print(json.dumps({{"sec": sec, "cpu": cpu, "peak_mb": ru1.ru_maxrss / 1024, "data_mb": rss0,
                  "out": [float(v) for v in out]}}))
"""


def run_isolated(
    df: pd.DataFrame,
    runners: dict[str, tuple[str, str]],
    *,
    timeout: float,
    only: list[str] | None = None,
    prepare: str = "",
) -> dict[str, dict]:
    """Run each runner on ``df`` in its own process; print and return the figures.

    ``prepare`` is code run in the child after loading ``df`` and before the
    imports (e.g. restoring a dtype that Parquet does not keep).
    """
    tmp = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
    df.to_parquet(tmp.name)
    results: dict[str, dict] = {}
    try:
        for name, (imports, code) in runners.items():
            if only and name not in only:
                continue
            script = CHILD.format(prepare=prepare, imports=imports, code=code)
            try:
                p = subprocess.run([sys.executable, "-c", script, tmp.name], capture_output=True,
                                   text=True, timeout=timeout)
                results[name] = (json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0
                                 else {"error": p.stderr.strip().splitlines()[-1][:120]})
            except subprocess.TimeoutExpired:
                results[name] = {"error": f"timed out after {timeout:.0f} s"}
            print(f"  {name}: {results[name]}", flush=True)
    finally:
        os.unlink(tmp.name)
    return results
