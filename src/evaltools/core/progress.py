"""Progress bars for loops that may take more than a second (bootstraps, simulations).

A bar appears only where someone watches it: in a terminal (standard error is a
tty) or in an interactive notebook, and only once the loop has run for
:data:`DELAY_S` (a quick loop shows nothing). It never appears

- inside ``evaltools run`` (the run's kernel has ``EVALTOOLS_RUN_DIR`` set: a bar
  would be written into the executed notebook and so into the report),
- when ``EVALTOOLS_PROGRESS=0`` (``evaltools -q`` sets it),
- in a log file or a pipe (standard error not a tty, outside a notebook).

Bars are tqdm's; in a notebook its text bar goes to the cell's standard error, which
JupyterLab redraws in place (no ipywidgets needed).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

DELAY_S = 1.0
PROGRESS_ENV = "EVALTOOLS_PROGRESS"
RUN_DIR_ENV = "EVALTOOLS_RUN_DIR"  # = evaltools.report.record.RUN_DIR_ENV (a layer above this one)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None  # type: ignore[attr-defined]
    except Exception:
        return False
    return type(ip).__name__ == "ZMQInteractiveShell"


def enabled() -> bool:
    """Whether a bar would be shown here (see the module docstring)."""
    if os.environ.get(RUN_DIR_ENV) or os.environ.get(PROGRESS_ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    if _in_notebook():
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it") -> Any:
    """``iterable`` wrapped in a tqdm bar where one is wanted, else a bar that draws nothing.

    Use as ``for x in progress(range(n), desc="bootstrap", unit="draw")`` or, for steps,
    ``with progress(total=4, desc=...) as bar: ...; bar.update()``.
    """
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, delay=DELAY_S,
                disable=not enabled(), leave=False, dynamic_ncols=True)


def steps(items: Iterable[T], **kwargs: Any) -> Iterator[T]:
    """``progress`` over a materialised ``items`` (its length is the bar's total)."""
    items = list(items)
    yield from progress(items, total=len(items), **kwargs)
