"""Stable addresses: ``reports/latest/<study>/<params stem>/report.html``.

Every run goes to its own folder (``reports/<study>/<run-id>/``) and earlier runs stay, so a
run folder's address changes with every run. Each params file therefore also gets a stable
address, ``reports/latest/<study>/<params-file stem>/`` (``defaults`` for a run without a
params file), holding the published files (report, PDF, results, tables, figures; not the
manifest) of the newest run of that study and params file that **succeeded**. A failed or
interrupted newer run leaves the address on the last success; the run folders, their three
end states and their history are untouched. ``latest.json`` in the folder names the run it
was copied from.

A report about all of Latvia links to the reports of its areas there: in the stable copy of
a national comparison (``municipality: all``), a table's row heading that names the area of
another stable address of the same study, period and data ("Valmieras novads") becomes a
relative link ``../<stem>/report.html`` (same language first, then any). Links are added only to
addresses that exist, in the same pass that writes them, so every link answers (also when the
``reports/`` folder is copied or served as static files); the run folder's own report is never
changed. :func:`publish_latest` is called by :func:`evaltools.report.site.build_site`, i.e.
after every ``evaltools run``, ``run-all`` and ``site``.

Files are hard links to the run folder's where the file system allows (no extra space),
copies otherwise; a folder is rebuilt only when its source run or its links change, and
replaced by a rename, so a reader sees the old or the new copy.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from evaltools.report.area import AREA_PARAMETERS, PERIOD_PARAMETERS, area_name, area_parameter, is_whole_country

LATEST_DIR = "latest"  # reports/latest/ (a reserved name: no study may be called so)
MARKER = "latest.json"
DEFAULT_STEM = "defaults"  # the runner's name for a run without a params file
NOT_COPIED = frozenset({"manifest.json"})
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_ROW_HEADING = re.compile(r'(<th class="row_heading[^"]*"[^>]*>)([^<]+)(</th>)')
# Parameters that change the data or the period: two runs link to each other only when equal.
_SAME = tuple(name for triple in PERIOD_PARAMETERS for name in triple[:2]) + ("data_dir", "mapping")


@dataclass
class Address:
    """One stable address and the run it shows."""

    study: str
    stem: str
    run: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)  # row heading -> relative href

    @property
    def rel(self) -> str:
        """The address's folder, relative to ``reports/``."""
        return f"{LATEST_DIR}/{self.study}/{self.stem}"


def params_stem(run: Mapping[str, Any]) -> str:
    """The stem of the params file a run used (``defaults`` without one)."""
    pf = run.get("params_file")
    path = pf.get("path") if isinstance(pf, Mapping) else None
    return Path(str(path)).stem if path else DEFAULT_STEM


def _language(run: Mapping[str, Any]) -> str:
    p = run.get("parameters") if isinstance(run.get("parameters"), Mapping) else {}
    return p.get("language") if p.get("language") in ("lv", "en") else "lv"


def _same_scope(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    pa = a.get("parameters") if isinstance(a.get("parameters"), Mapping) else {}
    pb = b.get("parameters") if isinstance(b.get("parameters"), Mapping) else {}
    return all(pa.get(k) == pb.get(k) for k in _SAME)


def _whole_country(run: Mapping[str, Any]) -> bool:
    found = area_parameter(run)
    return found is not None and is_whole_country(found[1])


def _has_area(run: Mapping[str, Any]) -> bool:
    p = run.get("parameters") if isinstance(run.get("parameters"), Mapping) else {}
    return any(p.get(name) is not None for name in AREA_PARAMETERS)


def addresses(all_runs: list[dict[str, Any]]) -> dict[tuple[str, str], Address]:
    """(study, stem) -> the address of the newest succeeded run of that study and params file
    (``all_runs`` newest first, as :func:`evaltools.report.site.runs` gives them), with the
    links its report gets to the other addresses of the study."""
    found: dict[tuple[str, str], Address] = {}
    for run in all_runs:
        study, stem = str(run.get("study") or ""), params_stem(run)
        if run.get("status") != "succeeded" or not _STEM.fullmatch(study) or not _STEM.fullmatch(stem):
            continue
        if study == LATEST_DIR or not (run["_dir"] / "report.html").is_file():
            continue
        found.setdefault((study, stem), Address(study, stem, run))
    for a in found.values():
        if not _whole_country(a.run):
            continue
        language = _language(a.run)
        ranked = sorted((b for b in found.values() if b is not a and b.study == a.study and _has_area(b.run)
                         and not _whole_country(b.run) and _same_scope(a.run, b.run)),
                        key=lambda b: (_language(b.run) != language, b.stem == DEFAULT_STEM, b.stem))
        for b in ranked:  # same language first, a params file before the defaults: one target per label
            label = area_name(b.run, language)
            if label:
                a.links.setdefault(label, f"../{b.stem}/report.html")
    return found


def link_rows(page: str, links: Mapping[str, str]) -> str:
    """``page`` with each table row heading whose text is a key of ``links`` made a link to
    its value. Only row headings (pandas' ``row_heading`` cells of the report layer's tables)
    are touched; the text is kept as it was escaped."""
    if not links:
        return page

    def one(m: re.Match[str]) -> str:
        href = links.get(html.unescape(m.group(2)).strip())
        if href is None:
            return m.group(0)
        return f'{m.group(1)}<a href="{html.escape(href, quote=True)}">{m.group(2)}</a>{m.group(3)}'

    return _ROW_HEADING.sub(one, page)


def _signature(address: Address) -> dict[str, Any]:
    return {"study": address.study, "params_stem": address.stem, "run_id": address.run.get("run_id"),
            "run_folder": f"../../../{address.study}/{address.run['_dir'].name}/",
            "started_at": address.run.get("started_at"), "links": dict(sorted(address.links.items()))}


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fill(folder: Path, address: Address) -> None:
    """Write the stable copy of ``address`` into the new folder ``folder``."""
    from evaltools.report.pagecheck import check_self_contained

    source: Path = address.run["_dir"]
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if rel.as_posix() in NOT_COPIED or path.is_symlink():
            continue
        target = folder / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() == "report.html" and address.links:
            page = path.read_text(encoding="utf-8")
            linked = link_rows(page, address.links)
            if linked != page:
                check_self_contained(linked, target)
                target.write_text(linked, encoding="utf-8")
                continue
        _link_or_copy(path, target)
    (folder / MARKER).write_text(json.dumps(_signature(address), ensure_ascii=False, indent=2), encoding="utf-8")


def _replace(new: Path, final: Path) -> None:
    """Put ``new`` in the place of ``final`` (two renames: a reader sees one or the other)."""
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(new, final)
    finally:
        shutil.rmtree(old, ignore_errors=True)


def publish_latest(reports_dir: Path, all_runs: list[dict[str, Any]]) -> dict[tuple[str, str], Address]:
    """Bring ``reports/latest/`` up to date with ``all_runs``; return the addresses that exist.

    An address whose source run and links are unchanged is left alone; one whose run folder is
    gone (deleted by hand, withdrawn) is removed. Never raises for one address: an address that
    cannot be written is left as it was (and not returned, so nothing links to it)."""
    found = addresses(all_runs)
    base = reports_dir / LATEST_DIR
    written: dict[tuple[str, str], Address] = {}
    for key, address in found.items():
        if _write(base, address) or _read_marker(base / address.study / address.stem) is not None:
            written[key] = address  # written now, or the previous copy still answers
    for key, address in written.items():  # never a link to an address that could not be written
        kept = {label: href for label, href in address.links.items()
                if (address.study, href.split("/")[1]) in written}
        if kept != address.links:
            address.links = kept
            _write(base, address)
    _remove_stale(base, written)
    return written


def _write(base: Path, address: Address) -> bool:
    """Write one address unless it is up to date; False when it could not be written."""
    final = base / address.study / address.stem
    if _read_marker(final) == _signature(address):
        return True
    new = final.with_name(f".new-{address.stem}-{os.getpid()}")
    try:
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        _fill(new, address)
        _replace(new, final)
        return True
    except Exception:  # an address that cannot be written is not linked; the index still builds
        shutil.rmtree(new, ignore_errors=True)
        return False


def _remove_stale(base: Path, keep: Mapping[tuple[str, str], Address]) -> None:
    """Remove addresses without a succeeded run behind them and leftovers of killed builds."""
    if not base.is_dir():
        return
    for study_dir in base.iterdir():
        if not study_dir.is_dir():
            continue
        for folder in study_dir.iterdir():
            stale_tmp = folder.name.startswith((".new-", ".old-")) and _gone(folder)
            if stale_tmp or (not folder.name.startswith(".") and (study_dir.name, folder.name) not in keep):
                shutil.rmtree(folder, ignore_errors=True)
        try:
            study_dir.rmdir()  # only when empty
        except OSError:
            pass


def _gone(folder: Path) -> bool:
    """A ``.new-``/``.old-`` folder whose writing process is no longer running."""
    try:
        pid = int(folder.name.rsplit("-", 1)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return True
    except PermissionError:
        return False
    return pid == os.getpid()
