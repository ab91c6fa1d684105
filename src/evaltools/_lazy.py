"""Packages that load their exports on first use.

``evaltools.estimate`` re-exports some forty estimators whose modules import
pyfixest, numba, statsmodels and scikit-learn; importing them all to reach one
(``from evaltools.estimate.result import Estimate`` runs the package
``__init__`` first) cost seconds at every kernel start. With :func:`install`
a package lists ``name -> submodule`` and each submodule is imported only when
one of its names is first used (PEP 562).

Several estimators share their module's name (``rd.rd``, ``multilevel.multilevel``,
``event_study.event_study``): the package attribute is the function, as it was
with eager imports, also when the submodule was imported first; reach the
module itself with ``importlib.import_module``.
"""
from __future__ import annotations

import importlib
import sys
import types


def install(package: str, exports: dict[str, str]) -> None:
    """Make ``package`` import ``package.<exports[name]>`` on first use of ``name``
    (a value with a dot is a full module path, for a name re-exported from elsewhere)."""
    module = sys.modules[package]

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name: str):
            sub = exports.get(name)
            if sub is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            path = sub if "." in sub else f"{package}.{sub}"
            value = getattr(importlib.import_module(path), name)
            setattr(self, name, value)
            return value

        def __setattr__(self, name: str, value: object) -> None:
            # The import system binds a loaded submodule to its parent's attribute;
            # where an export has the submodule's name, the export wins.
            if isinstance(value, types.ModuleType) and exports.get(name) == name:
                value = getattr(value, name)
            super().__setattr__(name, value)

        def __dir__(self) -> list[str]:
            return sorted(set(super().__dir__()) | set(exports))

    module.__class__ = LazyPackage
    module.__all__ = sorted(exports)
