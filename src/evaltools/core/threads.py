"""One BLAS thread for a block of numerical work.

The products in our estimators are skinny (n x a few columns); with several BLAS threads on a
busy machine OpenBLAS spends more time waiting than computing (measured: 30x slower evaluations of
the nested multilevel likelihood under load).
"""
from __future__ import annotations

import contextlib
from typing import Any

_BLAS_CONTROLLER: Any = None


def one_blas_thread() -> Any:
    """Context: one BLAS thread. threadpoolctl finds the BLAS libraries by scanning every loaded
    shared library (about 15 ms in a process with pandas, SciPy and pyarrow loaded); the scan is
    done once and its controller reused."""
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")
