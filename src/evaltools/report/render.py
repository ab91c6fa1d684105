"""Turn an executed study notebook into the funder's ``report.html``.

nbconvert's HTML exporter with our ``funder`` template (templates/funder): no
code, no parameter cells, no cells tagged ``researcher`` (diagnostics for
researchers only), no warnings or tracebacks; a header with title, programme,
date and parameters; a provenance footer with commit, data fingerprints and
package versions. The output is one self-contained file: CSS inline, figures
as data URIs, no script and no request to any other host (checked before the
file is written). A report whose input is the synthetic generator's data
(``manifest["demo"]``, set by the runner from :mod:`evaltools.data.demo`) opens with
a banner saying that its numbers are demonstration data.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from evaltools import __version__
from evaltools.core.errors import DisclosureError
from evaltools.report.area import titled
from evaltools.report.escape import html_text
from evaltools.report.pagecheck import NotSelfContainedError, check_self_contained
from evaltools.text import clip

TEMPLATES = Path(__file__).parent / "templates"
HIDDEN_TAGS = {"parameters", "injected-parameters", "researcher", "remove-cell"}

# Labels of the page around the notebook's outputs: keys page.<name> in messages.yaml.
PAGE_LABELS = ("date", "run", "parameters", "provenance", "study", "params_file", "code", "data",
               "software", "time", "dirty", "none", "failed", "failed_text", "where", "message", "cell",
               "changed", "interrupted", "interrupted_text")


class UnprotectedTableError(DisclosureError, ValueError):
    """A table in the funder view has not been through disclosure control."""


# Tables made by the report layer (protect, publish_table, model_table, ...) are
# wrapped in this element; a plain DataFrame's HTML is not.
PROTECTED_TABLE_MARK = 'class="evt-table"'


def report_language(manifest: dict[str, Any]) -> str:
    lang = manifest.get("parameters", {}).get("language")
    return lang if lang in ("lv", "en") else "lv"


def render_report(notebook: Path, out: Path, manifest: dict[str, Any]) -> Path:
    """Render ``notebook`` (executed) to ``out`` for funders."""
    nb = nbformat.read(notebook, as_version=4)
    check_tables_protected(nb, notebook)
    check_figures_published(nb, notebook)
    language = report_language(manifest)
    resources = {"evaltools": page_context(nb, manifest, language)}
    body, _ = funder_exporter().from_notebook_node(nb, resources=resources)
    check_self_contained(body, out)
    _atomic_write(out, body)
    return out


@lru_cache(maxsize=1)
def funder_exporter() -> Any:
    """nbconvert's HTML exporter with the ``funder`` template, made once per process: building it
    compiles the templates (about 0.2 s a report); it keeps no state between reports (each call gets
    its own notebook and resources), and jinja reloads a template whose file has changed. Not for
    two threads at once: a run renders on the runner's main thread, a Dask worker has one thread."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="funder",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags=HIDDEN_TAGS, enabled=True), enabled=True
    )
    return exporter


def _funder_cells_where(nb: nbformat.NotebookNode, test: Any) -> list[int]:
    """Indices of the code cells a funder sees (not tagged hidden) with an output for which ``test`` holds."""
    return [
        index for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", []))
        and any(test(output) for output in cell.get("outputs", []))
    ]


def check_tables_protected(nb: nbformat.NotebookNode, where: Path | str = "notebook") -> None:
    """Refuse a funder view that shows a table the report layer did not protect.

    Every HTML table in a cell the funder sees must come from the report layer
    (``evaltools.report.protect``, ``publish_table``, ``model_table``, ...), which
    applies disclosure control; a plain DataFrame shown in such a cell is refused.
    Cells tagged ``researcher`` are not published and not checked.
    """
    def unprotected(output: dict[str, Any]) -> bool:
        html_out = output.get("data", {}).get("text/html", "")
        html_out = "".join(html_out) if isinstance(html_out, list) else html_out
        return "<table" in html_out and PROTECTED_TABLE_MARK not in html_out

    _refuse(nb, unprotected, UnprotectedTableError, where,
            "a table that has not been through disclosure control. Show it with "
            "evaltools.report.protect(table, counts=[...]) or publish_table(...), or tag the cell "
            "'researcher' to keep it out of the report.")


def _refuse(nb: nbformat.NotebookNode, test: Any, error: type[Exception], where: Path | str, what: str) -> None:
    """Raise ``error`` naming the funder's cells with an output for which ``test`` holds."""
    bad = _funder_cells_where(nb, test)
    if bad:
        raise error(f"{where}: cell(s) {', '.join(str(i) for i in bad)} show {what}")


class UnpublishedFigureError(UnprotectedTableError):
    """An image in the funder view was not published through the report layer."""


def check_figures_published(nb: nbformat.NotebookNode, where: Path | str = "notebook") -> None:
    """Refuse a funder view that shows an image not published by ``figures.publish_figure``.

    ``publish_figure`` checks the figure's labels and records the protected table
    it plots in ``results.json``; the image it displays carries display metadata
    (``evaltools.report.figures.FIGURE_META``). Any other image (``plt.show()``,
    ``display(fig)``) in a cell the funder sees is refused, naming the cell.
    """
    FIGURE_META = "evaltools_figure"  # = figures.FIGURE_META (not imported: figures loads seaborn)
    def unpublished(output: dict[str, Any]) -> bool:
        images = [k for k in output.get("data", {}) if k.startswith("image/")]
        meta = output.get("metadata", {}) or {}
        return any(FIGURE_META not in (meta.get(k) or {}) and FIGURE_META not in meta for k in images)

    _refuse(nb, unpublished, UnpublishedFigureError, where,
            "a figure that was not published with its protected data. Show it with "
            "display(evaltools.report.figures.publish_figure(fig, name, data=protected_table)), or "
            "tag the cell 'researcher' to keep it out of the report.")


def render_failure(out: Path, manifest: dict[str, Any], error: dict[str, Any], title: str | None = None) -> Path:
    """A short page that says the run failed (or was interrupted), where, and why; no
    partial results. ``title``: the study's title in the report's language (what the index
    shows; default the study's name); the page's title adds the state ("… — neizdevās")."""
    language = report_language(manifest)
    ctx = page_context(None, manifest, language)
    if title:
        ctx["title"] = title
    e = html_text  # everything on this page may come from data, parameters or an exception
    lab = {k: e(v) for k, v in ctx["labels"].items()}
    cell = error.get("cell") or {}
    where = f"{lab['cell']} {e(cell.get('index'))} ({e(cell.get('first_line', ''))})" if cell else "–"
    state = "interrupted" if error.get("kind") == "interrupted" else "failed"
    from evaltools.report.i18n import text

    page_title = text(f"page.title_{state}", language, title=ctx["title"])
    body = f"""<!DOCTYPE html>
<html lang="{e(language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(page_title)}</title>
<style>{ctx['css']}</style></head><body>
<header class="ev-header"><p class="ev-programme">{e(ctx['programme'])}</p>
<h1 class="ev-title">{e(ctx['title'])}</h1>
<p class="ev-meta">{lab['date']}: {e(ctx['date'])} · {lab['run']}: {e(ctx['run_id'])}</p></header>
<main class="ev-main"><div class="ev-failed"><h2>{lab[state]}</h2><p>{lab[state + '_text']}</p>
<dl><dt>{lab['where']}</dt><dd>{e(error.get('kind', ''))}, {where}</dd>
<dt>{lab['message']}</dt><dd><code>{e(error.get('message', ''))}</code></dd></dl></div></main>
</body></html>
"""
    check_self_contained(body, out)
    _atomic_write(out, body)
    return out


def page_context(nb: nbformat.NotebookNode | None, manifest: dict[str, Any], language: str) -> dict[str, Any]:
    """Everything the template shows around the notebook's outputs. The title is the notebook's
    (``evaltools.title``) with the run's area and period (:func:`evaltools.report.area.titled`)."""
    meta = (nb.metadata.get("evaltools", {}) if nb is not None else {}) or {}
    study = manifest.get("study", "")
    code = manifest.get("code") or {}
    from evaltools.report.i18n import text

    labels = {key: text(f"page.{key}", language) for key in PAGE_LABELS}
    commit = code.get("commit") or labels["none"]
    if code.get("dirty"):
        commit = f"{commit} ({labels['dirty']})"
    fingerprints = [
        (name, digest[:16])
        for entry in (manifest.get("inputs") or {}).values()
        for name, digest in entry.get("sha256", {}).items()
    ]
    env = manifest.get("environment") or {}
    software = ", ".join(
        [f"Python {env.get('python', '?')}"]
        + [f"{k} {v}" for k, v in (env.get("packages") or {}).items()]
    )
    params_file = (manifest.get("params_file") or {}).get("path") or labels["none"]
    duration = manifest.get("duration_s")
    return {
        "language": language,
        "version": __version__,
        # the area and period in words ("…: Valmieras novads, 2020/21–2023/24"), evaltools.report.area
        "title": titled(_localised(meta.get("title"), language) or study, manifest, language),
        "programme": _localised(meta.get("programme"), language) or "",
        "date": (manifest.get("started_at") or "")[:10],
        "started": (manifest.get("started_at") or "").replace("T", " "),
        "duration": f"{duration:.1f} s" if isinstance(duration, (int, float)) else "",
        "run_id": manifest.get("run_id", ""),
        "study": study,
        "notebook": (manifest.get("notebook") or {}).get("path", ""),
        "params_file": params_file,
        "parameters": _shown_parameters(manifest, labels["changed"], language),
        "commit": commit,
        "fingerprints": fingerprints,
        "software": software,
        "labels": labels,
        "css": (TEMPLATES / "funder" / "funder.css").read_text(encoding="utf-8"),
        # synthetic input (the runner's manifest["demo"], evaltools.data.demo): a banner says so
        "demo": bool(manifest.get("demo")),
        "demo_title": text("demo.banner_title", language),
        "demo_text": text("demo.banner", language),
    }


def _shown_parameters(manifest: dict[str, Any], changed: str = "changed",
                      language: str | None = None) -> list[tuple[str, str]]:
    """Parameters for the header, labelled and formatted for the reader
    (:func:`evaltools.report.i18n.param_value`: no ``None`` or ``1500.0``); input paths by
    their last component only, so a report never shows where on the evaluator's machine
    the extract lives. An option the study had to change (``manifest["design_changes"]``)
    shows both values."""
    from evaltools.report.i18n import param_label, param_value

    inputs = manifest.get("inputs") or {}
    changes = {c.get("option"): c for c in manifest.get("design_changes") or [] if isinstance(c, dict)}
    shown = []
    for k, v in (manifest.get("parameters") or {}).items():
        value = Path(str(v)).name if k in inputs and v is not None else clip(param_value(v, language), 80)
        if k in changes:
            value = f"{value} → {clip(param_value(changes[k].get('used', ''), language), 80)} ({changed})"
        shown.append((param_label(k, language), value))
    return shown


def _localised(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or value.get("en") or next(iter(value.values()), ""))
    return str(value or "")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
