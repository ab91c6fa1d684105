"""Packages that load their exports on first use (PEP 562).

``evaltools.estimate`` re-exports some forty estimators whose modules import
pyfixest, numba, statsmodels and scikit-learn; importing them all to reach one
cost seconds at every kernel start. With :func:`install` a package lists
``name -> submodule`` and each submodule is imported only when one of its names
is first used.

An export must not share its name with a submodule of its package: the import
system binds a loaded submodule to its parent's attribute, so ``pkg.rd`` would be
the function before ``import pkg.rd`` and the module after. :func:`install`
refuses such a name (``evaltools.estimate`` names its modules by what they do:
``discontinuity.local_polynomial`` holds ``rd``). ``shadowed`` lists the legacy
names still allowed to collide; the package attribute stays the function for them.

Editors and type checkers do not run ``__getattr__``: a package lists the same
names as imports under ``if TYPE_CHECKING:`` and :func:`install` with
``exports=None`` reads them from there, so the list is written once.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path


def install(package: str, exports: dict[str, str] | None = None, *,
            shadowed: tuple[str, ...] = ()) -> None:
    """Make ``package`` import ``package.<exports[name]>`` on first use of ``name``
    (a value with a dot is a full module path, for a name re-exported from elsewhere).

    ``exports=None`` reads ``from <module> import <names>`` under the package's
    ``if TYPE_CHECKING:`` block (see :func:`type_checking_exports`).
    """
    module = sys.modules[package]
    if exports is None:
        exports = type_checking_exports(module)
    _refuse_collisions(package, module, exports, shadowed)

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name: str):
            sub = exports.get(name)
            if sub is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            path = sub if "." in sub else f"{package}.{sub}"
            value = getattr(importlib.import_module(path), name)
            setattr(self, name, value)
            return value

        def __dir__(self) -> list[str]:
            return sorted(set(super().__dir__()) | set(exports))

    if shadowed:
        class ShadowingPackage(LazyPackage):
            def __setattr__(self, name: str, value: object) -> None:
                # legacy: a loaded submodule named like its export does not replace it
                if isinstance(value, types.ModuleType) and name in shadowed:
                    value = getattr(value, name)
                super().__setattr__(name, value)

        module.__class__ = ShadowingPackage
    else:
        module.__class__ = LazyPackage
    module.__all__ = sorted(exports)


def type_checking_exports(module: types.ModuleType) -> dict[str, str]:
    """``{name: module path}`` from the ``from X import a, b`` statements under
    ``if TYPE_CHECKING:`` in ``module``'s source (relative imports resolved)."""
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                raise TypeError(f"{module.__name__}: only 'from X import a, b' under TYPE_CHECKING "
                                f"(line {stmt.lineno}).")
            path = ("." * stmt.level) + (stmt.module or "")
            if stmt.level:
                path = importlib.util.resolve_name(path, module.__name__)
            for alias in stmt.names:
                if alias.asname not in (None, alias.name):
                    raise TypeError(f"{module.__name__}: export {alias.name} under its own name "
                                    f"(line {stmt.lineno}).")
                out[alias.name] = path
    if not out:
        raise TypeError(f"{module.__name__} lists no exports under 'if TYPE_CHECKING:'.")
    return out


def _refuse_collisions(package: str, module: types.ModuleType, exports: dict[str, str],
                       shadowed: tuple[str, ...]) -> None:
    search = getattr(module, "__path__", None)
    if not search:
        return
    children = {p.stem for d in search for p in Path(d).iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    clash = sorted((set(exports) & children) - set(shadowed))
    if clash:
        raise ImportError(f"{package}: export(s) {clash} share a submodule's name; rename the "
                          f"module (see evaltools._lazy).")
