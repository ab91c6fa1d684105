"""``reports/index.html``: every run, newest first, linking to its report.

Built from the run folders alone (``manifest.json`` and ``results.json``), so it
can be rebuilt at any time with ``evaltools site``. Folders still being written
(``.tmp-*``) are not runs and are left out; a run whose runner was killed is marked
``interrupted`` by the runner and shown as such, never as finished. Only a run that
succeeded shows its headline; a failed or interrupted one shows what went wrong.
Everything shown (study, params file, status, headline, error message) comes from
files a run wrote and is escaped.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from evaltools.report.escape import html_text
from evaltools.report.i18n import number
from evaltools.report.record import RESULTS_FILE
from evaltools.report.pagecheck import check_self_contained
from evaltools.report.render import TEMPLATES

STATUS_TEXT = {
    "succeeded": "✓ izdevās · succeeded",
    "failed": "✗ neizdevās · failed",
    "interrupted": "⚠ pārtraukts · interrupted (not finished)",
}
_MAX_DETAIL = 400  # characters of an error message shown in the index


def runs(reports_dir: Path) -> list[dict[str, Any]]:
    """Manifests of all run folders (succeeded, failed or interrupted), newest first."""
    found = []
    for manifest in reports_dir.glob("*/*/manifest.json"):
        if manifest.parent.name.startswith("."):
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict):
            data = {"study": manifest.parent.parent.name, "run_id": manifest.parent.name,
                    "status": "unreadable"}
        data["_dir"] = manifest.parent
        found.append(data)
    found.sort(key=lambda m: (str(m.get("started_at") or ""), str(m.get("run_id") or "")), reverse=True)
    return found


def headline(run_dir: Path) -> tuple[str, Any] | None:
    """The recorded value marked ``headline=True`` (name, value), if any."""
    try:
        results = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(results, dict):
        return None
    for name, entry in results.items():
        if isinstance(entry, dict) and entry.get("headline"):
            return entry.get("label") or name, entry.get("value")
    return None


def format_value(value: Any, language: str = "lv") -> str:
    """A short text for a recorded value: numbers to 3 significant digits, estimates
    with CI, a headline card by its one-sentence answer."""
    if isinstance(value, dict) and value.get("type") == "headline":
        answers = value.get("answer") if isinstance(value.get("answer"), dict) else {}
        return str(answers.get(language) or next(iter(answers.values()), ""))
    if isinstance(value, dict) and value.get("type") == "estimate":
        est, lo, hi = value.get("estimate"), value.get("ci_low"), value.get("ci_high")
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (est, lo, hi)):
            return f"{_num(est)} [{_num(lo)}, {_num(hi)}]"
        d = _decimals(hi - lo)
        return f"{number(est, language, d)} [{number(lo, language, d)}; {number(hi, language, d)}]" \
            if language == "lv" else f"{number(est, language, d)} [{number(lo, language, d)}, {number(hi, language, d)}]"
    if isinstance(value, dict) and value.get("type") == "table":
        return f"table ({len(value.get('data', []))} rows)"
    if isinstance(value, float):
        return _num(value)
    return str(value)


def _decimals(width: float) -> int:
    """Decimals that show a CI of this width with two significant digits (0 to 6)."""
    if not width > 0:
        return 2
    return int(min(6, max(0, 1 - math.floor(math.log10(width)))))


def _num(x: Any) -> str:
    return "–" if x is None else f"{x:.3g}" if isinstance(x, float) else str(x)


def headline_text(run_dir: Path) -> str:
    """``label: value`` of the run's headline, in the run's report language."""
    found = headline(run_dir)
    if found is None:
        return ""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        language = (manifest.get("parameters") or {}).get("language") or "lv"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        language = "lv"
    if language not in ("lv", "en"):
        language = "lv"
    text = format_value(found[1], language)
    return text if isinstance(found[1], dict) and found[1].get("type") == "headline" else f"{found[0]}: {text}"


def run_detail(run: dict[str, Any]) -> str:
    """What the index says about a run: the headline of a run that succeeded, else what
    went wrong (never a number from a run that did not finish)."""
    status = run.get("status")
    if status == "succeeded":
        return _cut(headline_text(run["_dir"]))
    error = run.get("error") if isinstance(run.get("error"), dict) else {}
    if error:
        text = f"{error.get('kind') or 'error'}: {error.get('message') or ''}"
    elif status == "interrupted":
        text = "the run was interrupted before it finished · aprēķins pārtraukts"
    else:
        text = ""
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _row(run: dict[str, Any], reports_dir: Path, details: bool = True) -> str:
    e = html_text
    folder: Path = run["_dir"]
    rel = folder.relative_to(reports_dir).as_posix()
    status = str(run.get("status") or "?")
    params = (run.get("params_file") or {}).get("path") if isinstance(run.get("params_file"), dict) else None
    when = str(run.get("started_at") or "").replace("T", " ")[:16]
    links = [f'<a href="{e(rel)}/report.html">report</a>'] if (folder / "report.html").exists() else []
    links += [f'<a href="{e(rel)}/{name}">{label}</a>' for name, label in
              (("results.json", "results"), ("manifest.json", "manifest")) if (folder / name).exists()]
    kind = status if status in STATUS_TEXT else "other"
    return (
        f'<tr class="ev-{kind}"><td>{e(run.get("study", ""))}</td>'
        f"<td>{e(params or 'defaults')}</td><td>{e(STATUS_TEXT.get(status, status))}</td>"
        f"<td>{e(when)}</td><td>{e(run_detail(run) if details else '')}</td><td>{' · '.join(links)}</td></tr>"
    )


def build_site(reports_dir: Path, headlines: bool = True) -> Path:
    """Write ``reports_dir/index.html`` and return its path. ``headlines=False`` leaves
    out every run's headline and error message (the runner's fallback when the privacy
    gate finds an identifier in the full index)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in runs(reports_dir):
        rows.append(_row(run, reports_dir, headlines))
    css = (TEMPLATES / "funder" / "funder.css").read_text(encoding="utf-8")
    body = "\n".join(rows) or '<tr><td colspan="6">Nav aprēķinu · no runs yet: <code>evaltools run-all</code></td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="lv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>evaltools: pārskati · reports</title><style>{css}
.ev-index {{ max-width: 80rem; }} .ev-index td, .ev-index th {{ text-align: left; vertical-align: top; }}
tr.ev-failed td {{ background: #fbeeee; }} tr.ev-interrupted td {{ background: #fff4d6; }}
tr.ev-interrupted td:nth-child(3) {{ font-weight: 600; color: #7a4d00; }}</style></head><body>
<header class="ev-header ev-index"><p class="ev-programme">evaltools</p>
<h1 class="ev-title">Izvērtējumu pārskati · Evaluation reports</h1>
<p class="ev-meta">Jaunākie vispirms · newest first</p></header>
<main class="ev-main ev-index"><table><thead><tr><th>Pētījums · Study</th><th>Parametri · Params</th>
<th>Statuss · Status</th><th>Datums · Date (UTC)</th><th>Galvenais rezultāts · Headline</th><th></th></tr></thead>
<tbody>
{body}
</tbody></table></main></body></html>
"""
    check_self_contained(page, reports_dir / "index.html")
    out = reports_dir / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
