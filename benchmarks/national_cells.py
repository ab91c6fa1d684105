"""One study at national scale, cell by cell: where its time and memory go.

Runs ``evaltools run STUDY`` on the national data (a temporary project, as
``national_scale.py`` does, so reports/ is untouched) and prints the run's wall seconds, the
kernel's peak resident memory and CPU seconds (psutil, polled every 0.2 s; on a shared machine
the CPU seconds say more than the wall time) and, from papermill's time stamps in
the executed notebook, the seconds of each cell (the slowest first), with the first line of its
source. The kernel's memory is sampled with the time, so each cell also shows the peak resident
memory seen while it ran.

Usage: python benchmarks/national_cells.py STUDY [STUDY ...] [--data DIR] [--top N] [--set k=v]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from national_scale import BIN, ensure_data, project, statuses  # noqa: E402


class Trace:
    """(time, kernel RSS) samples of the kernel processes under ``pid``, every 0.2 s."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self.cpu = 0.0  # user + system seconds of the kernel (less sensitive to other load than wall time)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            try:
                kids = self.root.children(recursive=True)
            except psutil.Error:
                continue
            rss = 0
            for proc in kids:
                try:
                    if "ipykernel" in " ".join(proc.cmdline()):
                        rss = max(rss, proc.memory_info().rss)
                        times = proc.cpu_times()
                        self.cpu = max(self.cpu, times.user + times.system)
                except psutil.Error:
                    continue
            self.samples.append((time.time(), rss))

    def stop(self) -> "Trace":
        self._stop.set()
        self._thread.join()
        return self

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        vals = [r for t, r in self.samples if (start is None or t >= start) and (end is None or t <= end)]
        return max(vals, default=0)


def _stamp(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def profile(study: str, data: Path, top: int, sets: list[str]) -> None:
    import nbformat

    with tempfile.TemporaryDirectory(prefix="evaltools-cells-") as tmp:
        params = dict(s.split("=", 1) for s in sets)
        root = project(Path(tmp), data, [(study, study, params)])
        cmd = [str(BIN / "evaltools"), "--root", str(root), "run", study, "-p", str(root / "params" / f"{study}.yaml")]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        trace = Trace(proc.pid)
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        trace.stop()
        print(f"\n{study} (national data {data}): run {wall:.1f} s, kernel CPU {trace.cpu:.1f} s, "
              f"kernel peak {trace.peak() / 1e9:.2f} GB, {statuses(root)}")
        if proc.returncode:
            print(err[-3000:])
        notebooks = sorted((root / "private" / study).glob("*/notebook.ipynb"))
        if not notebooks:
            return
        nb = nbformat.read(notebooks[-1], as_version=4)
        cells = []
        for i, c in enumerate(nb.cells):
            meta = c.get("metadata", {}).get("papermill", {})
            if c.cell_type != "code" or meta.get("duration") is None:
                continue
            start, end = _stamp(meta.get("start_time")), _stamp(meta.get("end_time"))
            first = next((ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            cells.append((meta["duration"], i, trace.peak(start, end), first[:70]))
        total = sum(d for d, *_ in cells)
        print(f"cells: {total:.1f} s in {len(cells)} code cells; the slowest {top}:")
        print(f"{'s':>7} {'cell':>5} {'peak GB':>8}  source")
        for d, i, rss, first in sorted(cells, reverse=True)[:top]:
            print(f"{d:>7.2f} {i:>5} {rss / 1e9:>8.2f}  {first}")
        print(json.dumps({"study": study, "wall_s": round(wall, 1), "kernel_cpu_s": round(trace.cpu, 1),
                          "kernel_peak_gb": round(trace.peak() / 1e9, 2)}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("studies", nargs="+")
    ap.add_argument("--data", type=Path, default=Path("/tmp/natl"))
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--set", dest="sets", action="append", default=[], help="a parameter, k=v")
    args = ap.parse_args()
    ensure_data(args.data)
    for study in args.studies:
        profile(study, args.data, args.top, args.sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
