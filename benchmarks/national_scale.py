"""Every shipped study at national scale: loading, run time and peak memory, with and without Dask.

Builds the national data once (`evaltools data synth --scale national --seed 20240901`, into
--data, default /tmp/natl15; reused when there), then, each in a fresh process:

1. loads: the whole data set (every table, every column: the loader before `needs`), each
   study's `NEEDS` and `ROWS`, and one municipality (the municipal study's `NEEDS` and every
   table); seconds and peak memory of the loading process, with every table checked (a cold
   check cache) and with the checks remembered from the first load (what every later run pays);
2. runs: `evaltools run STUDY` for each shipped study on a copy of the notebooks (a temporary
   project, so reports/ is untouched): wall seconds, the load cell's seconds (papermill's
   time stamps in the executed notebook) and the peak memory of the kernel process (psutil);
   then all of them by `run-all --jobs 1` (one after another, no Dask) and `run-all --jobs 2`
   (a Dask LocalCluster of two workers);
3. municipal: the municipal study for each of the 43 municipalities (params/municipal_quality/
   when there, else generated here) and the national comparison, by `run-all --jobs 1` and
   `run-all --jobs 2`, each with an empty national cache (the first municipal run computes the
   planning regions' and Latvia's numbers once, the others read them: studies/municipal_quality/
   national.py); wall and CPU seconds, the peak memory of the kernels and of each Dask worker
   process, and a run's time by step (kernel start, loading and tables, figures, the other
   cells, rendering, PDF, the gate) from the executed notebooks and private/*/steps.json.
   ``--no-national-cache`` measures the same runs with every run computing everything itself.

The municipal part ends with one summary line per engine, what issue 15's done-when asks for: the
number of runs and how many succeeded, wall seconds, CPU seconds of every process of the command
(the runner, the Dask workers, the kernels), the peak memory of each Dask worker process (its kernel
not counted), of the runner process and of the largest kernel, and whether the runs fitted in 3 minutes.

Usage: python benchmarks/national_scale.py [--data DIR] [--parts loads,runs,municipal]
       [--municipalities N]   (N of the 43 only, for a quick look)  [--jobs 1,2]  [--no-national-cache]
       [--json FILE]   (the municipal figures as JSON too)
The done-when measurement (43 reports and the national one, without and with Dask, on a quiet machine):
       python benchmarks/national_scale.py --parts municipal --jobs 1,2
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STUDIES = ("municipal_quality", "dropout_prevention", "alumni_programme")
SEED = 20240901
MUNICIPAL = "municipal_quality"

LOAD_SNIPPET = """
import json, resource, sys, time
t0 = time.perf_counter()
from evaltools.data import load_dataset
needs, rows, area = (json.loads(a) for a in sys.argv[2:5])
t1 = time.perf_counter()
ds = load_dataset(sys.argv[1], needs=needs, rows=rows, **area)
t2 = time.perf_counter()
rows = sum(len(v) for v in ds.tables.values())
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rows": rows,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def ensure_data(data: Path) -> None:
    if (data / "true_effects.json").is_file():
        return
    print(f"making the national data in {data} (once; a few minutes)…", flush=True)
    subprocess.run([str(BIN / "evaltools"), "data", "synth", "--scale", "national", "--seed", str(SEED),
                    "--out", str(data)], check=True)


# --- 1. loads ------------------------------------------------------------------------------


def load(data: Path, needs: dict | None, area: dict | None = None, rows: dict | None = None,
         cache: Path | None = None) -> dict:
    env = dict(os.environ, EVALTOOLS_CHECK_CACHE=str(cache) if cache else "0")
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, str(data), json.dumps(needs), json.dumps(rows),
                          json.dumps(area or {})],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def study_needs(study: str) -> tuple[dict, dict]:
    import importlib

    package = importlib.import_module(f"evaltools.studies.{study}")
    return package.NEEDS, package.ROWS


def bench_loads(data: Path, municipality: str) -> None:
    from evaltools.data.schemas import TABLES

    every = {t: None for t in TABLES if (data / f"{t}.parquet").exists()}
    cases = [("everything (the loader without needs)", (None, None), None)]
    cases += [(f"{s} NEEDS + ROWS", study_needs(s), None) for s in STUDIES]
    cases += [(f"{municipality}: {MUNICIPAL} NEEDS + ROWS", study_needs(MUNICIPAL), {"municipality": municipality}),
              (f"{municipality}: every table", (every, None), {"municipality": municipality})]
    print(f"\n{'load (national data)':<52} {'checked s':>9} {'cached s':>9} {'peak GB':>8} {'rows':>11}")
    for i, (name, (needs, rows), area) in enumerate(cases):
        cache = Path(tempfile.mkdtemp(prefix=f"evaltools-checks-{i}-"))  # a cold cache per case
        first = load(data, needs, area, rows, cache)  # every table checked (and remembered)
        again = load(data, needs, area, rows, cache) if needs is not None else None  # checks remembered
        shown = f"{again['load_s']:>9.2f}" if again else f"{'-':>9}"
        print(f"{name:<52} {first['load_s']:>9.2f} {shown} {first['peak_gb']:>8.2f} {first['rows']:>11,}",
              flush=True)
        shutil.rmtree(cache, ignore_errors=True)


# --- 2./3. runs ---------------------------------------------------------------------------


class PeakMemory:
    """Peak RSS of the process ``pid`` (the runner), of each kernel and of each other Python process
    under it (Dask workers, nannies), polled every 0.2 s. Memory is counted per process: a worker's
    peak does not include the kernel it starts."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.runner = 0
        self.kernel = 0
        self.kernels = 0  # how many kernel processes were seen
        self.workers: dict[int, int] = {}
        self.cpu_s = 0.0
        self._seen_kernels: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.runner = max(self.runner, self.root.memory_info().rss)
                children = self.root.children(recursive=True)
            except psutil.Error:
                continue
            for proc in children:
                try:
                    rss, cmd = proc.memory_info().rss, " ".join(proc.cmdline())
                except psutil.Error:
                    continue
                if "ipykernel" in cmd:
                    self.kernel = max(self.kernel, rss)
                    self._seen_kernels.add(proc.pid)
                    self.kernels = len(self._seen_kernels)
                elif "python" in cmd and "resource_tracker" not in cmd:
                    self.workers[proc.pid] = max(self.workers.get(proc.pid, 0), rss)

    def stop(self) -> "PeakMemory":
        self._stop.set()
        self._thread.join()
        return self


def project(tmp: Path, data: Path, plans: list[tuple[str, str, dict]]) -> Path:
    """A temporary project: a copy of the notebooks and one params file per plan."""
    root = tmp / f"project-{len(list(tmp.iterdir()))}"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.html"))
    for policy in ("disclosure.yaml",):
        if (ROOT / policy).exists():
            shutil.copy(ROOT / policy, root / policy)
    (root / "params").mkdir()
    for name, study, params in plans:
        lines = [f"study: {study}", "parameters:", f"  data_dir: {json.dumps(str(data))}"]
        lines += [f"  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in params.items()]
        (root / "params" / f"{name}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, PeakMemory, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = PeakMemory(proc.pid)
    out, err = proc.communicate()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak.cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)  # waited-for descendants
    return time.perf_counter() - t0, peak.stop(), subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def breakdown(root: Path, study: str) -> dict[str, float]:
    """Median seconds of a run's steps: kernel start and the rest of papermill (notebook step
    minus its cells), the cell that loads the data and computes the tables, the cells that draw
    figures, the other cells, rendering, PDF and the finish (attacker + privacy gate)."""
    import nbformat

    rows: list[dict[str, float]] = []
    for steps_file in (root / "private" / study).glob("*/steps.json"):
        steps = json.loads(steps_file.read_text(encoding="utf-8"))
        nb_path = steps_file.parent / "notebook.ipynb"
        if not nb_path.is_file() or "notebook" not in steps:
            continue
        cells = {"load + tables": 0.0, "figures": 0.0, "other cells": 0.0}
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            d = float(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
            key = ("load + tables" if ("study.load(" in cell.source or "load_dataset(" in cell.source.split("import")[-1])
                   else "figures" if "publish_figure(" in cell.source else "other cells")
            cells[key] += d
        rows.append({"kernel + papermill": steps["notebook"] - sum(cells.values()), **cells,
                     "render": steps.get("render", 0.0) - steps.get("pdf", 0.0), "pdf": steps.get("pdf", 0.0),
                     "gate (finish)": steps.get("finish", 0.0), "inputs hash": steps.get("inputs", 0.0),
                     "CPU: notebook (kernel + papermill)": steps.get("notebook_cpu", 0.0),
                     "CPU: render": steps.get("render_cpu", 0.0) - steps.get("pdf_cpu", 0.0),
                     "CPU: pdf": steps.get("pdf_cpu", 0.0), "CPU: gate": steps.get("finish_cpu", 0.0)})
    if not rows:
        return {}
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def load_cell_s(root: Path, study: str) -> float | None:
    """Seconds of the cell that calls load_dataset, from the executed notebook's time stamps."""
    import nbformat

    notebooks = sorted((root / "private" / study).glob("*/notebook.ipynb"))
    if not notebooks:
        return None
    nb = nbformat.read(notebooks[-1], as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code" and "load_dataset(" in c.source
                 and "import" not in c.source.split("load_dataset(")[0].splitlines()[-1]), None)
    return None if cell is None else cell.get("metadata", {}).get("papermill", {}).get("duration")


def statuses(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for manifest in root.glob("reports/*/*/manifest.json"):
        status = json.loads(manifest.read_text(encoding="utf-8"))["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


def gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def bench_runs(tmp: Path, data: Path) -> None:
    print(f"\n{'study (national data)':<26} {'run s':>7} {'load cell s':>12} {'kernel peak GB':>15}  status")
    plans = [(s, s, {}) for s in STUDIES]
    for study in STUDIES:
        root = project(tmp, data, [(study, study, {})])
        wall, peak, proc = run([str(BIN / "evaltools"), "--root", str(root), "run", study, "-p",
                                 str(root / "params" / f"{study}.yaml")])
        load_s = load_cell_s(root, study)
        shown = f"{load_s:.2f}" if load_s is not None else "?"
        print(f"{study:<26} {wall:>7.1f} {shown:>12} {gb(peak.kernel):>15}  {statuses(root)}", flush=True)
    for jobs in ("1", "2"):
        root = project(tmp, data, plans)
        wall, peak, proc = run([str(BIN / "evaltools"), "--root", str(root), "run-all", "--jobs", jobs])
        engine = "no Dask" if jobs == "1" else "Dask LocalCluster, 2 workers"
        worker = max(peak.workers.values(), default=0) if jobs != "1" else 0
        print(f"run-all, 3 studies, {engine:<30} {wall:>7.1f} s  kernel peak {gb(peak.kernel)} GB"
              + (f", worker peak {gb(worker)} GB" if worker else "") + f"  {statuses(root)}", flush=True)


def municipalities(data: Path, limit: int | None) -> list[tuple[str, str, dict]]:
    folder = ROOT / "params" / MUNICIPAL
    plans = []
    if folder.is_dir() and list(folder.glob("*.yaml")):
        from evaltools.yamlfile import read_yaml

        for path in sorted(folder.glob("*.yaml")):
            params = dict((read_yaml(path, where=str(path)).data or {}).get("parameters") or {})
            params.pop("data_dir", None)
            plans.append((path.stem, MUNICIPAL, params))
    else:
        import pandas as pd

        names = sorted(pd.read_parquet(data / "municipalities.parquet")["name"])
        plans = [(f"m{i:02d}", MUNICIPAL, {"municipality": name}) for i, name in enumerate(names)]
    return plans[:limit] if limit else plans


def bench_municipal(tmp: Path, data: Path, limit: int | None, jobs_list: list[str], national_cache: bool,
                    json_out: Path | None = None) -> list[dict]:
    """The municipal runs (and the national comparison) by ``run-all --jobs J`` for each J: one summary
    line per engine (runs, succeeded, wall, CPU, peak memory per worker and per kernel) and the
    median steps of a run. Returns the figures (also written to ``json_out``)."""
    plans = municipalities(data, limit)
    if not any(p[2].get("municipality") in ("all", None) for p in plans):
        plans.append(("national", MUNICIPAL, {"municipality": "all"}))  # the national comparison
    cache_note = "national part computed once (cold cache)" if national_cache else "no national cache"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{len(plans)} municipal runs ({len(plans) - 1} municipalities and the national comparison; "
          f"national data {data}; {cache_note}; {cores} cores, load average {load:.1f} at the start)", flush=True)
    out: list[dict] = []
    for jobs in jobs_list:
        root = project(tmp, data, plans)
        cache_dir = Path(tempfile.mkdtemp(prefix="evaltools-national-cache-", dir=tmp))
        env = dict(os.environ, EVALTOOLS_NATIONAL_CACHE=str(cache_dir) if national_cache else "0")
        cmd = [str(BIN / "evaltools"), "--root", str(root), "run-all", "--study", MUNICIPAL, "--jobs", jobs]
        wall, peak, proc = run(cmd, env=env)
        engine = "no Dask (run-all --jobs 1)" if jobs == "1" else f"Dask LocalCluster, {jobs} workers"
        done = statuses(root)
        workers = sorted(peak.workers.values(), reverse=True)[: int(jobs)] if jobs != "1" else []
        row = {"engine": engine, "jobs": int(jobs), "runs": len(plans), "succeeded": done.get("succeeded", 0),
               "statuses": done, "wall_s": round(wall, 1), "cpu_s": round(peak.cpu_s, 1),
               "cpu_s_per_run": round(peak.cpu_s / len(plans), 1),
               "wall_on_2_free_cores_s": round(peak.cpu_s / 2, 1),  # CPU-bound: the best 2 cores can do
               "peak_gb_per_worker": [round(w / 1e9, 2) for w in workers],
               "peak_gb_runner": round(peak.runner / 1e9, 2), "peak_gb_kernel": round(peak.kernel / 1e9, 2),
               "kernels_seen": peak.kernels, "within_3_min": wall <= 180.0 and done.get("succeeded", 0) == len(plans),
               "command": " ".join(cmd[:1] + ["--root", "<temporary project>"] + cmd[3:]),
               "steps_median_s": breakdown(root, MUNICIPAL)}
        out.append(row)
        memory = (f"worker peaks {', '.join(f'{w:.2f}' for w in row['peak_gb_per_worker'])} GB (each without its "
                  f"kernel), " if workers else "") + (f"runner peak {row['peak_gb_runner']:.2f} GB, largest kernel "
                                                      f"{row['peak_gb_kernel']:.2f} GB")
        print(f"  {engine:<34} {row['succeeded']}/{row['runs']} succeeded, {wall:7.1f} s wall "
              f"({wall / len(plans):.1f} s a run), {peak.cpu_s:.0f} CPU-s ({row['cpu_s_per_run']:.1f} a run; "
              f"{row['wall_on_2_free_cores_s']:.0f} s on 2 free cores at best); {memory}; "
              f"{'within' if row['within_3_min'] else 'NOT within'} 3 min", flush=True)
        if done.get("succeeded", 0) != len(plans):
            print(f"    statuses: {done}", flush=True)
        steps = row["steps_median_s"]
        if steps:
            print("    a run's steps (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()), flush=True)
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:], flush=True)
    if json_out is not None:
        json_out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"  (written to {json_out})", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/natl15"),
                    help="the national data set (made there by the current generator when missing)")
    ap.add_argument("--parts", default="loads,runs,municipal")
    ap.add_argument("--municipality", default="Valmieras novads", help="the one municipality of the load test")
    ap.add_argument("--municipalities", type=int, default=None, help="only the first N municipal runs")
    ap.add_argument("--jobs", default="1,2", help="the run-all --jobs values of the municipal part")
    ap.add_argument("--no-national-cache", action="store_true", help="every municipal run computes Latvia itself")
    ap.add_argument("--json", type=Path, default=None, help="also write the municipal figures to this file")
    args = ap.parse_args()
    ensure_data(args.data)
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="evaltools-national-") as tmp:
        if "loads" in parts:
            bench_loads(args.data, args.municipality)
        if "runs" in parts:
            bench_runs(Path(tmp), args.data)
        if "municipal" in parts:
            bench_municipal(Path(tmp), args.data, args.municipalities, args.jobs.split(","), not args.no_national_cache,
                            args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
