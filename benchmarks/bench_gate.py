"""CPU seconds of the end of a run (run/finish.py) on a finished run folder: reading the identifier
values of its inputs, the attacker (``attack_run``) and the privacy gate (``scan_run``), each in
this fresh process, on a copy of the folder (nothing in it changes).

Run it on a national municipal run (``evaltools run municipal_quality -p
params/municipal_quality/riga.yaml --set data_dir=/tmp/natl15``; the folder is printed):

    .venv/bin/python benchmarks/bench_gate.py reports/municipal_quality/<run-id> [repeats]

Prints one JSON line per repeat (CPU-s of each step, the findings and hits: empty on a
published run). The first scan of a process also prepares the identifiers for matching.
"""
from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pypdf  # noqa: E402,F401  (imported before timing: not the gate's own cost)
import scipy.optimize  # noqa: E402,F401

from evaltools.report.attack import attack_run  # noqa: E402
from evaltools.report.privacy import identifier_values, scan_run  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(run: Path, repeats: int = 1) -> None:
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    inputs = [ROOT / e["path"] for e in (manifest.get("inputs") or {}).values()
              if isinstance(e, dict) and e.get("path")]
    threshold = (manifest.get("parameters") or {}).get("min_cell") or 5
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / run.name
        shutil.copytree(run, copy)
        c0 = cpu()
        ids = identifier_values(inputs)
        read = cpu() - c0
        for i in range(repeats):
            c1 = cpu()
            findings = attack_run(copy, int(threshold))
            c2 = cpu()
            hits = scan_run(copy, ids)
            c3 = cpu()
            print(json.dumps({"run": run.name, "repeat": i + 1, "read_ids": round(read, 2) if i == 0 else None,
                              "attack": round(c2 - c1, 2), "gate": round(c3 - c2, 2),
                              "findings": len(findings), "hits": hits}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
