"""Package exports load on first use, and a function keeps its name over its module."""
import importlib
import subprocess
import sys
import types
from pathlib import Path

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
                 "print(sorted(m for m in ('babel', 'pyfixest', 'matplotlib', 'evaltools.estimate.diff_in_diff.staggered') "
                 "if m in sys.modules))")
    assert out == "[]"


@pytest.mark.parametrize("package, name, module", [
    ("evaltools.estimate", "rd", "discontinuity.local_polynomial"),
    ("evaltools.estimate", "multilevel", "multilevel_models.mixed_model"),
    ("evaltools.estimate", "event_study", "diff_in_diff.event_time"),
    ("evaltools.estimate", "att_gt", "diff_in_diff.staggered"),
    # legacy names that still share their module's name (``shadowed`` in evaltools._lazy)
    ("evaltools.inference", "honest_did", "honest_did"),
    ("evaltools.report", "record", "record"),
])
def test_an_export_is_the_function_even_after_its_module_is_imported(package, name, module):
    out = _fresh(f"import importlib; importlib.import_module('{package}.{module}'); "
                 f"import {package} as p; from {package} import {name} as f; print(callable(f), p.{name} is f)")
    assert out == "True True"


def test_no_estimator_shares_a_name_with_a_module_of_the_package():
    """The estimate package names its modules by what they do, so the lazy exports need no
    trick: ``evaltools.estimate.rd`` is the function, never the module."""
    import evaltools.estimate as E

    root = Path(E.__file__).parent
    modules = {p.stem for p in root.iterdir() if (p.suffix == ".py" and p.stem != "__init__")
               or (p / "__init__.py").exists()}
    assert modules, root
    assert not set(E.__all__) & modules
    assert type(E).__setattr__ is types.ModuleType.__setattr__  # no shadowing hook installed


def test_install_refuses_an_export_named_like_a_submodule(tmp_path, monkeypatch):
    pkg = tmp_path / "clashpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from evaltools._lazy import install\ninstall(__name__, {'rd': 'rd'})\n")
    (pkg / "rd.py").write_text("def rd():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=r"export\(s\) \['rd'\] share a submodule's name"):
        importlib.import_module("clashpkg")
    sys.modules.pop("clashpkg", None)


def test_editors_see_the_exports_the_package_loads():
    """The names under ``if TYPE_CHECKING:`` in estimate/__init__.py are the lazy exports (one
    list), and each import there names the object the package hands out."""
    import evaltools.estimate as E
    from evaltools._lazy import type_checking_exports

    listed = type_checking_exports(E)
    assert sorted(listed) == E.__all__ and len(listed) > 30
    for name, module in listed.items():
        assert getattr(importlib.import_module(module), name) is getattr(E, name), name


def test_one_estimator_loads_only_its_family():
    out = _fresh("import sys; from evaltools.estimate import att_gt; "
                 "print(sorted(m for m in sys.modules if m.startswith(('pyfixest', 'rdrobust', 'lifelines', "
                 "'statsmodels', 'evaltools.estimate.matching_weighting', 'evaltools.estimate.discontinuity'))))")
    assert out == "[]"


def test_every_declared_export_exists():
    for package in ("evaltools.estimate", "evaltools.inference", "evaltools.report", "evaltools.data"):
        mod = importlib.import_module(package)
        for name in mod.__all__:
            assert getattr(mod, name) is not None, f"{package}.{name}"
        with pytest.raises(AttributeError, match="has no attribute 'nope'"):
            mod.nope
