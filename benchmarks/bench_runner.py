"""Per-run overhead of `evaltools run`, against plain papermill + nbconvert.

Times, as separate processes from a cold start (imports and kernel start
included), on the same notebook and parameters:

- `evaltools run tiny` (the runner's smallest fixture study: validation,
  papermill, funder rendering, manifest, privacy gate);
- the peer route: `papermill` CLI then `jupyter nbconvert --to html --no-input`;
- `evaltools run municipal_quality` on the shipped sample (the smallest
  shipped study).

Usage: python benchmarks/bench_runner.py [repeats]
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(repeats: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(ROOT / "tests" / "fixtures" / "project", project)
        nb = project / "notebooks" / "tiny.ipynb"
        rows = {
            "evaltools run tiny": [str(BIN / "evaltools"), "--root", str(project), "run", "tiny"],
            "papermill + nbconvert (peer)": None,
            "evaltools run municipal_quality": [str(BIN / "evaltools"), "--root", str(ROOT), "run",
                                                "municipal_quality", "-p", "params/municipal_quality.yaml"],
        }
        results: dict[str, list[float]] = {k: [] for k in rows}
        for _ in range(repeats):
            results["evaltools run tiny"].append(timed(rows["evaltools run tiny"], project))
            out = Path(tmp) / "out.ipynb"
            t0 = time.perf_counter()
            subprocess.run([str(BIN / "papermill"), str(nb), str(out), "-k", "evaltools", "--cwd",
                            str(nb.parent), "--no-progress-bar"], check=True, capture_output=True)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)],
                           check=True, capture_output=True)
            results["papermill + nbconvert (peer)"].append(time.perf_counter() - t0)
        for _ in range(max(1, repeats // 2)):
            results["evaltools run municipal_quality"].append(
                timed(rows["evaltools run municipal_quality"], ROOT))
    print(f"{'route':<34} {'median s':>9} {'min s':>7} {'runs':>5}")
    for name, times in results.items():
        print(f"{name:<34} {statistics.median(times):>9.2f} {min(times):>7.2f} {len(times):>5}")
    ratio = statistics.median(results["evaltools run tiny"]) / statistics.median(
        results["papermill + nbconvert (peer)"])
    print(f"\nevaltools run / (papermill + nbconvert), same notebook: {ratio:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
