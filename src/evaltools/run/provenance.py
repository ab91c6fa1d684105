"""What produced a run: data fingerprints, code version, package versions."""
from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# The packages whose versions can change a number in a report.
KEY_PACKAGES = (
    "evaltools", "numpy", "pandas", "scipy", "statsmodels", "pyfixest", "rdrobust", "rddensity", "lifelines",
    "scikit-learn", "pandera", "pyarrow", "matplotlib", "seaborn", "papermill",
    "nbconvert", "nbclient", "ipykernel",
)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path: Path) -> dict[str, str]:
    """SHA-256 of a file (keyed by its name), or of every file under a folder
    (keyed by its path inside the folder)."""
    if path.is_file():
        return {path.name: sha256_file(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return {p.relative_to(path).as_posix(): sha256_file(p) for p in files}


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to the project root when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def git_state(root: Path) -> dict[str, object]:
    """Commit and dirty flag of the project's git checkout (``None`` outside git)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def package_versions() -> dict[str, str]:
    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def environment() -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": package_versions(),
    }
