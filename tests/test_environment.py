"""The pip pins, the conda environment and the direct dependencies agree."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return {
        re.split(r"==", line.strip())[0].lower().replace("_", "-"): line.strip()
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    }


def test_every_requirement_is_pinned_exactly():
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    loose = [l for l in lines if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", l.strip())]
    assert not loose, f"requirements.txt must pin every package with ==: {loose}"


def test_environment_yml_has_the_same_pins_as_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert _pins(pip) == _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_every_direct_dependency_is_in_the_lock():
    direct = [
        l.split("#")[0].strip().lower().replace("_", "-")
        for l in (ROOT / "requirements.in").read_text().splitlines()
        if l.split("#")[0].strip()
    ]
    locked = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert [d for d in direct if d not in locked] == []
    with open(ROOT / "pyproject.toml", "rb") as fh:
        import tomllib

        runtime = tomllib.load(fh)["project"]["dependencies"]
    assert [d for d in runtime if d.lower() not in locked] == []


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "exec make test" in ci
    assert "make test" in readme.split("\n## ")[0], "the README must open with `make test`"
    assert "make demo" in readme.split("\n## ")[0], "the README must open with `make demo`"


def test_private_and_reports_are_ignored_by_git():
    """Executed notebooks (private/) must never be committed, nor build output (reports/)."""
    import subprocess

    for path in ("private/tiny/20260101T000000Z-tiny/notebook.ipynb", "reports/index.html"):
        out = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
        assert out.returncode == 0, f"{path} is not git-ignored"
