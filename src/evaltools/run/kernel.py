"""Register the workbench's Jupyter kernel, with the environment of ``evaltools run``.

``evaltools run`` starts its kernel with :data:`evaltools.run.execute.KERNEL_ENV`
(``PYTHONHASHSEED=0``: the order of sets and of hash-based draws is the same on every
run). Writing the same variables into the kernelspec's ``env`` makes JupyterLab, nbval
and plain papermill start the kernel the same way::

    python -m evaltools.run.kernel          # what `make setup` runs; conda users run it once

The kernel is installed into the running environment (``sys.prefix``), named
``evaltools`` and shown as "Python (evaltools)". :func:`lab_command` is how ``make lab``
and ``evaltools lab`` start JupyterLab: rooted at the project, ``notebooks/`` open, the
workbench kernel by default, no news feed and no update check.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

DISPLAY_NAME = "Python (evaltools)"


def install_kernel(prefix: str | None = None) -> str:
    """(Re-)register the ``evaltools`` kernel under ``prefix`` (default ``sys.prefix``); return its folder."""
    from ipykernel.kernelspec import install

    from evaltools.run.execute import KERNEL_ENV, KERNEL_NAME

    return install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=prefix or sys.prefix,
                   env=dict(KERNEL_ENV))


def lab_command(root: Path, extra: Sequence[str] = ()) -> list[str]:
    """The ``jupyter lab`` command line of the workbench (``extra`` appended)."""
    from evaltools.run.execute import KERNEL_NAME

    jupyter = Path(sys.executable).with_name("jupyter")
    return [
        str(jupyter) if jupyter.exists() else "jupyter", "lab",
        f"--ServerApp.root_dir={root}",
        "--LabApp.default_url=/lab/tree/notebooks",
        f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        *extra,
    ]


def main() -> int:
    folder = install_kernel()
    print(f"Registered the Jupyter kernel '{DISPLAY_NAME}' in {folder}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
