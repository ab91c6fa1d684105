"""Benchmark: synthetic-data generation and checking, time and peak memory.

Each step runs in its own subprocess so that its peak resident memory
(``ru_maxrss``, includes the Python interpreter and imported libraries) is its own:

* ``generate``: ``evaltools.data.synth.generate(scale)`` (targets for national:
  < 60 s and < 4 GB on 2 cores);
* ``generate+write``: the same plus writing the Parquet files;
* ``load_dataset``: reading and checking every table plus the cross-table rules;
* ``check pupil_years`` (ours) against the peer ``pandera`` schema with
  ``coerce=True`` alone on the same table (types and value rules, no row-level
  type report and no cross-table rules).

    .venv/bin/python benchmarks/bench_synth.py                  # national
    .venv/bin/python benchmarks/bench_synth.py --scale region   # quicker
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

STEPS = {
    "generate": ("from evaltools.data.synth import generate", "d = generate(SCALE)"),
    "generate+write": ("from evaltools.data.synth import generate, write",
                       "write(generate(SCALE), OUT + '/w')"),
    "load_dataset (all checks)": ("from evaltools.data import load_dataset", "load_dataset(OUT + '/w')"),
    "check pupil_years (ours)": (
        "import pandas as pd\nfrom evaltools.data.checks import check_table\n"
        "df = pd.read_parquet(OUT + '/w/pupil_years.parquet')",
        "_, v = check_table(df, 'pupil_years', 'pupil_years.parquet'); assert not v"),
    "check pupil_years (pandera coerce)": (
        "import pandas as pd, pandera.pandas as pa\n"
        "df = pd.read_parquet(OUT + '/w/pupil_years.parquet')\n"
        "s = pa.DataFrameSchema({'pupil_id': pa.Column(str), 'year': pa.Column(int, pa.Check.in_range(2000, 2040)),"
        " 'school_id': pa.Column(str), 'grade': pa.Column(int, pa.Check.in_range(1, 12)),"
        " 'absences': pa.Column(int, pa.Check.in_range(0, 2000)), 'repeated': pa.Column(bool),"
        " 'status': pa.Column(str, pa.Check.isin(['enrolled', 'left_early', 'transferred', 'graduated']))},"
        " unique=['pupil_id', 'year'], coerce=True)",
        "s.validate(df, lazy=True)"),
}

CHILD = """
import json, resource, time, sys
SCALE, OUT = {scale!r}, {out!r}
{setup}
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
{code}
dt = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
print(json.dumps({{"seconds": dt, "cpu_seconds": cpu, "peak_mb": r1.ru_maxrss / 1024}}))
"""


def run(step: str, scale: str, out: str) -> dict:
    setup, code = STEPS[step]
    src = CHILD.format(scale=scale, out=out, setup=setup, code=code)
    res = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"seconds": float("nan"), "cpu_seconds": float("nan"), "peak_mb": float("nan"), "error": res.stderr.strip().splitlines()[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="national", choices=("sample", "region", "national"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        results = {}
        print(f"{'step':<40} {'wall':>8}   {'CPU':>12}   {'peak':>10}")
        for step in STEPS:
            results[step] = run(step, args.scale, out)
            r = results[step]
            print(f"  {step:<38} {r['seconds']:8.1f} s wall {r['cpu_seconds']:8.1f} s CPU {r['peak_mb']:9.0f} MB peak"
                  f" {r.get('error', '')}", flush=True)
        ours = results["check pupil_years (ours)"]
        peer = results["check pupil_years (pandera coerce)"]
        print(f"\nscale={args.scale}: check pupil_years ours/pandera ratio: wall "
              f"{ours['seconds'] / peer['seconds']:.2f}, CPU {ours['cpu_seconds'] / peer['cpu_seconds']:.2f}")
        gen = results["generate"]
        print(f"generate: {gen['seconds']:.1f} s wall, {gen['cpu_seconds']:.1f} s CPU (target < 60 s), peak {gen['peak_mb']:.0f} MB (target < 4096 MB)")


if __name__ == "__main__":
    main()
