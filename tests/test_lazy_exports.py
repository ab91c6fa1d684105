"""Package exports load on first use, and a function keeps its name over its module."""
import importlib
import subprocess
import sys

import pytest


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_one_estimator_does_not_load_the_others():
    out = _fresh(
        "import sys; from evaltools.estimate.result import Estimate; "
        "print(any(m.startswith(('pyfixest', 'sklearn', 'rdrobust', 'lifelines')) for m in sys.modules))"
    )
    assert out == "False"


def test_the_runner_does_not_load_the_report_layer_or_the_estimators():
    out = _fresh("import sys; import evaltools.run.execute; "
                 "print(sorted(m for m in ('babel', 'pyfixest', 'matplotlib', 'evaltools.estimate.staggered') "
                 "if m in sys.modules))")
    assert out == "[]"


@pytest.mark.parametrize("package, name", [("evaltools.estimate", "rd"), ("evaltools.estimate", "multilevel"),
                                           ("evaltools.estimate", "event_study"), ("evaltools.inference", "honest_did")])
def test_an_export_named_like_its_module_is_the_function_even_after_the_module_is_imported(package, name):
    out = _fresh(f"import importlib; importlib.import_module('{package}.{name}'); "
                 f"import {package} as p; from {package} import {name} as f; print(callable(f), p.{name} is f)")
    assert out == "True True"


def test_every_declared_export_exists():
    for package in ("evaltools.estimate", "evaltools.inference", "evaltools.report", "evaltools.data"):
        mod = importlib.import_module(package)
        for name in mod.__all__:
            assert getattr(mod, name) is not None, f"{package}.{name}"
        with pytest.raises(AttributeError, match="has no attribute 'nope'"):
            mod.nope
