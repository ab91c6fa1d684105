"""The dependencies: declared once (pyproject.toml), locked for every platform, lean for users.

* pyproject.toml declares every third-party package that src/evaltools or a study
  notebook imports (runtime), and every one the tests and benchmarks import (extras
  ``test`` and ``bench``);
* the two locks (requirements.txt for users, requirements-test.txt for tests and
  benchmarks, both from ``make lock``) pin every package exactly, hold every declared
  dependency, and agree with each other and with environment.yml;
* the users' lock holds no comparison package and no test tool.
"""
from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

from tests import ROOT

USERS_LOCK = ROOT / "requirements.txt"
TEST_LOCK = ROOT / "requirements-test.txt"
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)==(?P<version>[^=\s;]+)\s*(;\s*(?P<marker>.+))?")


def _norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _pins(text: str) -> dict[tuple[str, str], str]:
    """(name, marker) -> version of a lock; fails on a line that is not an exact pin."""
    out = {}
    for line in _requirements(text):
        m = PIN.fullmatch(line)
        assert m, f"not an exact pin (name==version[ ; marker]): {line!r}"
        out[(_norm(m["name"]), (m["marker"] or "").strip())] = m["version"]
    return out


def _names(text: str) -> set[str]:
    return {name for name, _ in _pins(text)}


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]


def _declared(*extras: str) -> set[str]:
    project = _project()
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return {_norm(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in reqs}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _imported_modules(paths: list[Path]) -> dict[str, str]:
    """Top-level module -> first file importing it, for absolute imports anywhere in ``paths``."""
    found: dict[str, str] = {}

    def add(source: str, where: str) -> None:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                found.setdefault(mod.split(".")[0], where)

    for path in paths:
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            for i, cell in enumerate(nb["cells"]):
                if cell["cell_type"] == "code":
                    src = "".join(cell["source"])
                    src = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!")))
                    add(src, f"{_rel(path)} cell {i}")
        else:
            add(path.read_text(), _rel(path))
    return found


def _undeclared(paths: list[Path], declared: set[str], local: set[str]) -> list[str]:
    """Imports in ``paths`` that no declared distribution provides."""
    provided = importlib.metadata.packages_distributions()
    out = []
    for mod, where in sorted(_imported_modules(paths).items()):
        if mod in sys.stdlib_module_names or mod in local or mod == "__future__":
            continue
        dists = {_norm(d) for d in provided.get(mod, [])}
        if not dists & declared:
            out.append(f"{where} imports {mod} (distribution {sorted(dists) or 'unknown'})")
    return out


def test_pyproject_declares_every_package_the_code_and_the_notebooks_import():
    paths = sorted((ROOT / "src" / "evaltools").rglob("*.py")) + sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(paths) > 50
    missing = _undeclared(paths, _declared(), {"evaltools"})
    assert missing == [], "add these to [project] dependencies in pyproject.toml, then `make lock`:\n" + "\n".join(
        missing)


def test_the_tests_and_benchmarks_import_only_declared_packages():
    paths = [p for p in sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
             if "fixtures" not in p.parts]
    local = {"evaltools", "tests", "conftest"} | {p.stem for p in paths}
    missing = _undeclared(paths, _declared("test", "bench"), local)
    assert missing == [], "add these to the test or bench extra in pyproject.toml, then `make lock`:\n" + "\n".join(
        missing)


def test_the_undeclared_import_check_can_fail(tmp_path):
    """The check above sees an import inside a function and maps module names to distributions."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    import yaml\n    from sklearn.linear_model import LinearRegression\n")
    assert len(_undeclared([probe], {"numpy"}, set())) == 2
    assert _undeclared([probe], {"pyyaml", "scikit-learn"}, set()) == []


def test_both_locks_pin_every_declared_dependency():
    users, tests = _names(USERS_LOCK.read_text()), _names(TEST_LOCK.read_text())
    assert sorted(_declared("lab") - users) == []
    assert sorted(_declared("lab", "test", "bench") - tests) == []


def test_the_users_lock_is_the_test_lock_restricted_to_runtime_and_lab():
    """One resolution: every package a user gets is pinned to the version the tests ran with."""
    users, tests = _pins(USERS_LOCK.read_text()), _pins(TEST_LOCK.read_text())
    assert {k: (v, tests.get(k)) for k, v in users.items() if tests.get(k) != v} == {}


def test_users_get_no_comparison_package_and_no_test_tool():
    users = _names(USERS_LOCK.read_text())
    project = _project()
    for extra in ("test", "bench"):
        assert sorted(_declared(extra) - _declared("lab")) != []
        leaked = sorted((_declared(extra) - _declared("lab")) & users)
        assert leaked == [], f"the users' lock holds packages of the {extra} extra: {leaked}"
    assert {"numba", "twine", "cryptography"} & users == set(), "the peers' heavy dependencies are back"
    assert "linearmodels" not in {_norm(r) for r in project["dependencies"]}


def test_the_locks_are_universal():
    """Generated for every platform: the packages only Windows or macOS need carry markers."""
    for lock in (USERS_LOCK, TEST_LOCK):
        text = lock.read_text()
        assert "make lock" in text.splitlines()[1], f"{lock.name} is not generated by `make lock`"
        markers = {m for _, m in _pins(text)}
        assert any("sys_platform == 'win32'" in m for m in markers), lock.name
        assert any("sys_platform == 'darwin'" in m for m in markers), lock.name


def test_environment_yml_has_the_same_pins_as_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert _pins("\n".join(p for p in pip if not p.startswith("-e "))) == _pins(USERS_LOCK.read_text())


def test_environment_yml_installs_the_package_and_says_how_to_register_the_kernel():
    """conda installs evaltools itself (`-e .`, after every pin) and the header and README give
    the one command conda cannot run: the kernel registration `make setup` runs too."""
    text = (ROOT / "environment.yml").read_text()
    pip = next(d["pip"] for d in yaml.safe_load(text)["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pip[-1] == "-e ." and sum(p.startswith("-e ") for p in pip) == 1
    assert (ROOT / "pyproject.toml").is_file()  # `.` is the folder of environment.yml: installable
    command = "python -m evaltools.run.kernel"
    header = [line.lstrip("# ").split("  #")[0].strip() for line in text.splitlines() if line.startswith("#")]
    route = ["conda env create -f environment.yml", "conda activate evaltools", command]
    assert all(step in header for step in route), header
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### With conda", 1)[1].split("\n#", 1)[0]
    assert [step for step in route if step in section] == route, "README's conda route differs from environment.yml"
    assert f"$(PY) -m evaltools.run.kernel" in (ROOT / "Makefile").read_text()


def test_write_environment_yml_writes_the_file_in_the_repository(tmp_path, monkeypatch):
    """The generator, run on the users' lock, gives exactly the committed environment.yml."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("write_environment_yml", ROOT / "scripts" / "write_environment_yml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "requirements.txt").write_text(USERS_LOCK.read_text())
    monkeypatch.setattr(module, "ROOT", tmp_path)
    module.main()
    assert (tmp_path / "environment.yml").read_text() == (ROOT / "environment.yml").read_text()


def test_make_test_installs_the_test_lock_and_make_demo_the_users_lock():
    makefile = (ROOT / "Makefile").read_text()
    rule = lambda target: re.search(rf"^{re.escape(target)}:[^\n]*", makefile, re.M).group(0)  # noqa: E731
    assert "setup-test" in rule("test") and "setup-test" in rule("bench")
    assert "setup" in rule("demo") and "setup-test" not in rule("demo")
    assert "$(call install,requirements-test.txt)" in makefile
    assert "$(call install,requirements.txt)" in makefile


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
