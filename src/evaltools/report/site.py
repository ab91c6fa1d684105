"""``reports/index.html``: the index a funder uses.

One card per study and area (municipality, region, cohorts and period, read from each
run's parameters and named as a person would: "Valmieras novads", never a code or a
YAML path). A card shows the study's *current* run in each language, the newest run
of that study, area and language that succeeded: the title from the notebook's
metadata in the report's language, the verdict and padlocks of its headline card,
the headline with its labelled 95 % interval, a "demonstration data" marker when the
run's input is the synthetic generator's, and a switch between the Latvian and
English versions when both exist (CSS only: the page runs nothing). Older runs
(history) are listed below the card in a collapsed list; a failed or interrupted run
says what went wrong in the report's language, with the technical message under it.

A study with many reports about single municipalities (``municipal_quality``: 43) is one
group instead of a card each: the national comparison's card first, then the municipalities in
a compact table per planning region, alphabetical in Latvian order (:func:`split_groups`).
A study without a verdict is "published (no verdict)", never the run status. Building the
index also refreshes ``reports/latest/<study>/<params stem>/``, the stable address of each
params file's newest successful report (:mod:`evaltools.report.latest`), which the cards link.
The area and period in words come from :mod:`evaltools.report.area`.

Built from the run folders (``manifest.json`` and ``results.json``) and the
notebooks' titles, so it can be rebuilt at any time with ``evaltools site``; every
``evaltools run`` rebuilds it too. Folders still being written (``.tmp-*``) are not
runs and are left out; a run whose runner was killed is marked ``interrupted`` by the
runner and shown as such, never as finished. Only a run that succeeded shows its
headline. Everything shown comes from files a run wrote and is escaped; the page is
checked by :func:`check_self_contained` before it is written.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from evaltools.report import i18n
from evaltools.report.area import AREA_PARAMETERS, PERIOD_PARAMETERS, area_text  # noqa: F401  (area_text: old home)
from evaltools.report.area import area_name, is_whole_country, period_text, planning_region, region_name
from evaltools.report.escape import html_text
from evaltools.report.i18n import number
from evaltools.report.record import RESULTS_FILE
from evaltools.report.pagecheck import check_self_contained
from evaltools.report.render import TEMPLATES

_MAX_DETAIL = 400  # characters of an error message shown in the index
LANGUAGE_ORDER = ("lv", "en")
# Parameters that change the data a run reads: runs that differ in them are not versions of one card.
DATA_PARAMETERS = ("data_dir", "mapping")
# error kinds of the runner (run/execute.py, run/finish.py) -> index.error.<slug>
_ERROR_SLUGS = {
    "cell error": "cell", "cell timeout": "timeout", "kernel died": "kernel", "disclosure": "disclosure",
    "privacy": "privacy", "privacy gate error": "privacy", "interrupted": "interrupted", "disk full": "disk",
    "unreadable input": "input", "not run": "not_run", "rendering error": "other", "runner error": "other",
}
_VERDICT_COLOURS = {"better": "#1a7f37", "worse": "#b42318", "unclear": "#8a6d00"}
# -- reading the run folders ------------------------------------------------------------


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


def _results(run_dir: Path) -> dict[str, Any]:
    try:
        results = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return results if isinstance(results, dict) else {}


def headline(run_dir: Path) -> tuple[str, Any] | None:
    """The recorded value marked ``headline=True`` (name, value), if any."""
    for name, entry in _results(run_dir).items():
        if isinstance(entry, dict) and entry.get("headline"):
            return entry.get("label") or name, entry.get("value")
    return None


def headline_card_of(run_dir: Path) -> dict[str, Any] | None:
    """The run's headline card (``type: headline`` in results.json), whether or not it is
    the value marked as the headline."""
    found = headline(run_dir)
    if found is not None and isinstance(found[1], dict) and found[1].get("type") == "headline":
        return found[1]
    for entry in _results(run_dir).values():
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, dict) and value.get("type") == "headline":
            return value
    return None


# -- formatting recorded values (kept for the runner's one-line summary) ----------------------


def format_value(value: Any, language: str = "lv") -> str:
    """A short text for a recorded value: numbers to 3 significant digits, estimates
    with CI, a headline card by its one-sentence answer, a protected value by its text."""
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
    if isinstance(value, dict) and value.get("type") == "protected_value":  # its text, as the report shows it
        texts = value.get("text") if isinstance(value.get("text"), dict) else {}
        return str(texts.get(language) or next(iter(texts.values()), ""))
    if isinstance(value, dict) and value.get("type") == "table":
        return f"table ({len(value.get('data', []))} rows)"
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0:
            return _num(value)
        # three significant digits, in the language's number format (0,128 in Latvian)
        return number(value, language, int(min(6, max(0, 2 - math.floor(math.log10(abs(value)))))))
    return str(value)


def _decimals(width: float) -> int:
    """Decimals that show a CI of this width with two significant digits (0 to 6)."""
    if not width > 0:
        return 2
    return int(min(6, max(0, 1 - math.floor(math.log10(width)))))


def _num(x: Any) -> str:
    return "–" if x is None else f"{x:.3g}" if isinstance(x, float) else str(x)


def run_language(manifest: dict[str, Any]) -> str:
    """The run's report language (``lv`` unless its parameters say ``en``)."""
    params = manifest.get("parameters") if isinstance(manifest.get("parameters"), dict) else {}
    language = params.get("language")
    return language if language in LANGUAGE_ORDER else "lv"


def headline_text(run_dir: Path) -> str:
    """``label: value`` of the run's headline, in the run's report language."""
    found = headline(run_dir)
    if found is None:
        return ""
    try:
        language = run_language(json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        language = "lv"
    text = format_value(found[1], language)
    return text if isinstance(found[1], dict) and found[1].get("type") == "headline" else f"{found[0]}: {text}"


def _interval(est: Any, lo: Any, hi: Any, language: str, scale: float = 1.0, unit: str = "",
              level: Any = 0.95, signed: bool = False) -> str:
    """``−5,1 procentpunkti (95 % ticamības intervāls (TI): no −8,2 līdz −2,0)``: the
    card's own message (``headline.effect_value``) with one precision from the CI width."""
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (est, lo, hi)):
        return format_value({"type": "estimate", "estimate": est, "ci_low": lo, "ci_high": hi}, language)
    d = _decimals((hi - lo) * scale)
    level = level if isinstance(level, (int, float)) and 0 < level < 1 else 0.95
    return i18n.text("headline.effect_value", language, effect=number(est * scale, language, d, signed=signed),
                     unit=unit, level=i18n.percent(level, language), ci_low=number(lo * scale, language, d),
                     ci_high=number(hi * scale, language, d)).replace("  ", " ")


def headline_lines(run_dir: Path, language: str) -> list[str]:
    """What a card shows as the headline, in ``language``: a headline card's answer and its
    effect with the labelled interval (in the card's unit and scale, as the report shows it);
    else ``label: value``, an estimate with its labelled interval."""
    card = headline_card_of(run_dir)
    if card is not None:
        answer = format_value(card, language)
        effect = card.get("effect") if isinstance(card.get("effect"), dict) else {}
        scale = card.get("scale") if isinstance(card.get("scale"), (int, float)) and card.get("scale") > 0 else 1.0
        unit = card.get("unit", "")
        unit = str(unit.get(language) or "") if isinstance(unit, dict) else str(unit or "")
        lines = [answer] if answer else []
        if effect.get("estimate") is not None:
            lines.append(f'{i18n.text("headline.effect", language)}: '
                         + _interval(effect.get("estimate"), effect.get("ci_low"), effect.get("ci_high"),
                                     language, scale, unit, effect.get("level"), signed=True))
        return lines
    found = headline(run_dir)
    if found is None:
        return []
    label, value = found
    if isinstance(value, dict) and value.get("type") == "estimate":
        return [f"{label}: " + _interval(value.get("estimate"), value.get("ci_low"), value.get("ci_high"),
                                          language, level=value.get("level"))]
    return [f"{label}: {format_value(value, language)}"]


# -- verdict, rating, demonstration data: what other parts of the run record ------------------


def verdict_of(card: dict[str, Any] | None, language: str) -> tuple[str, str, str] | None:
    """(code, words, colour) of a headline card's verdict.

    Hook for the evidence-based verdict (issue 14, item 1): a ``verdict`` that is a
    mapping is read as ``{"code", "text"|"label": {lv, en}, "colour"}``; a plain code
    (``better``/``worse``/``unclear``, the CI-only verdict) is put into words by the
    catalogue (``index.verdict.<code>``)."""
    if not card:
        return None
    v = card.get("verdict")
    if isinstance(v, dict):
        code = str(v.get("code") or v.get("verdict") or "unclear")
        words = v.get("text") or v.get("label") or v.get("wording") or ""
        words = str(words.get(language) or "") if isinstance(words, dict) else str(words)
        if not words and i18n.has(f"index.verdict.{code}"):
            words = i18n.text(f"index.verdict.{code}", language)
        colour = str(v.get("colour") or v.get("color") or _VERDICT_COLOURS.get(code, "#4a5560"))
        return (code, words or code, colour) if re.fullmatch(r"#[0-9a-fA-F]{3,8}", colour) else \
            (code, words or code, "#4a5560")
    if isinstance(v, str) and i18n.has(f"index.verdict.{v}"):
        return v, i18n.text(f"index.verdict.{v}", language), _VERDICT_COLOURS.get(v, "#4a5560")
    return None


def _explanation(card: dict[str, Any] | None, language: str) -> str:
    """Why the verdict's security is what it is (the verdict's ``explanation``), if recorded."""
    v = (card or {}).get("verdict")
    why = v.get("explanation") if isinstance(v, dict) else None
    return str(why.get(language) or "") if isinstance(why, dict) else ""


def rating_of(card: dict[str, Any] | None) -> tuple[int | None, str | None]:
    """(padlocks, WWC wording) of a headline card's evidence rating."""
    rating = (card or {}).get("rating")
    if not isinstance(rating, dict):
        return None, None
    padlocks = rating.get("padlocks")
    padlocks = padlocks if isinstance(padlocks, int) and not isinstance(padlocks, bool) and 0 <= padlocks <= 5 else None
    wwc = rating.get("wwc")
    return padlocks, wwc if isinstance(wwc, str) else None


_WWC_KEYS = {"meets wwc standards without reservations": "rating.wwc.meets",
             "meets wwc standards with reservations": "rating.wwc.meets_with",
             "does not meet wwc standards": "rating.wwc.does_not"}


def is_demonstration(manifest: dict[str, Any]) -> bool:
    """Whether the run's input is the synthetic generator's (the manifest says so).

    The runner stores the generator's marker under ``demo`` (:func:`evaltools.data.demo.demo_inputs`;
    None for real data); a ``synthetic``/``demonstration`` flag at the top of the manifest or
    on an entry of ``inputs`` counts too."""
    def flagged(d: Any) -> bool:
        return isinstance(d, dict) and any(d.get(k) is True for k in ("synthetic", "demonstration", "demo"))

    demo = manifest.get("demo")
    if (isinstance(demo, dict) and demo) or demo is True or flagged(manifest):
        return True
    inputs = manifest.get("inputs")
    return isinstance(inputs, dict) and any(flagged(entry) for entry in inputs.values())


# -- what a card is about ----------------------------------------------------------------------


def _params(manifest: dict[str, Any]) -> dict[str, Any]:
    p = manifest.get("parameters")
    return p if isinstance(p, dict) else {}


def scope_key(manifest: dict[str, Any]) -> tuple[str, ...]:
    """Runs with the same key are versions (languages, reruns) of one card: the study, its
    area and period parameters and the data it reads."""
    p = _params(manifest)
    parts = [str(manifest.get("study") or "")]
    for name in AREA_PARAMETERS:
        if name in p:
            parts.append(f"{name}={p[name]}")
            break
    for first, last, _ in PERIOD_PARAMETERS:
        if first in p or last in p:
            parts.append(f"{first}={p.get(first)}..{p.get(last)}")
    parts += [f"{name}={p[name]}" for name in DATA_PARAMETERS if p.get(name) is not None]
    return tuple(parts)


def study_title(manifest: dict[str, Any], reports_dir: Path, language: str) -> str:
    """The study's title in ``language`` from its notebook's metadata (``evaltools.title``);
    the study name in words when no notebook can be read."""
    study = str(manifest.get("study") or "")
    nb = manifest.get("notebook") if isinstance(manifest.get("notebook"), dict) else {}
    root = reports_dir.resolve().parent
    candidates = [root / str(nb["path"])] if nb.get("path") else []
    if re.fullmatch(r"[A-Za-z0-9_-]+", study):
        candidates.append(root / "notebooks" / f"{study}.ipynb")
    for path in candidates:
        title = _notebook_title(path, language)
        if title:
            return title
    return study.replace("_", " ").strip().capitalize() or i18n.text("index.untitled", language)


_TITLES: dict[tuple[str, float, str], str] = {}


def _notebook_title(path: Path, language: str) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return ""
    key = (str(path), stamp, language)
    if key not in _TITLES:
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("evaltools", {})
            title = meta.get("title") if isinstance(meta, dict) else None
            if isinstance(title, dict):
                title = title.get(language) or title.get("en") or next(iter(title.values()), "")
            _TITLES[key] = str(title or "")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            _TITLES[key] = ""
    return _TITLES[key]


# -- status and errors ---------------------------------------------------------------------------


def status_text(status: str, language: str) -> str:
    key = f"index.status.{status}"
    return i18n.text(key if i18n.has(key) else "index.status.other", language)


def error_text(run: dict[str, Any], language: str) -> str:
    """What went wrong, for a funder, in ``language`` (from the error's kind)."""
    error = run.get("error") if isinstance(run.get("error"), dict) else {}
    if run.get("status") == "interrupted":
        slug = "interrupted"
    else:
        slug = _ERROR_SLUGS.get(str(error.get("kind") or ""), "other")
    return i18n.text(f"index.error.{slug}", language)


def run_detail(run: dict[str, Any]) -> str:
    """The technical detail of a run: the headline of a run that succeeded, else what went
    wrong as the runner recorded it (never a number from a run that did not finish)."""
    status = run.get("status")
    if status == "succeeded":
        return _cut(headline_text(run["_dir"]))
    error = run.get("error") if isinstance(run.get("error"), dict) else {}
    if error:
        return _cut(f"{error.get('kind') or 'error'}: {error.get('message') or ''}")
    return ""


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


# -- the cards -------------------------------------------------------------------------------------


@dataclass
class Card:
    """The runs of one study and area: the current one per language and the history."""

    key: tuple[str, ...]
    runs: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def current(self) -> dict[str, dict[str, Any]]:
        """Per language: the newest succeeded run, else the newest run of that language."""
        out: dict[str, dict[str, Any]] = {}
        for lang in LANGUAGE_ORDER:
            mine = [r for r in self.runs if run_language(r) == lang]
            ok = [r for r in mine if r.get("status") == "succeeded"]
            if ok or mine:
                out[lang] = (ok or mine)[0]
        return out

    def history(self) -> list[dict[str, Any]]:
        shown = {id(r) for r in self.current().values()}
        return [r for r in self.runs if id(r) not in shown]


def cards(all_runs: list[dict[str, Any]]) -> list[Card]:
    """The runs grouped by :func:`scope_key`, cards in the order of their newest run."""
    found: dict[tuple[str, ...], Card] = {}
    for run in all_runs:
        key = scope_key(run)
        found.setdefault(key, Card(key)).runs.append(run)
    def order(card: Card) -> tuple[Any, ...]:
        area = card.key[1] if len(card.key) > 1 else ""
        return (card.key[0], not area.endswith("=all"), card.key[1:])

    return sorted(found.values(), key=order)


def _padlocks_svg(n: int) -> str:
    icons = []
    for k in range(5):
        colour = "#1b2a3a" if k < n else "#c9ced4"
        icons.append('<svg width="13" height="15" viewBox="0 0 14 16" aria-hidden="true">'
                     f'<path d="M3.5 7V5a3.5 3.5 0 0 1 7 0v2" fill="none" stroke="{colour}" stroke-width="2"/>'
                     f'<rect x="1" y="7" width="12" height="9" rx="1.5" fill="{colour}"/></svg>')
    return "".join(icons)


def _links(run: dict[str, Any], reports_dir: Path, language: str) -> str:
    e = html_text
    folder: Path = run["_dir"]
    rel = folder.relative_to(reports_dir).as_posix()
    items = [(name, i18n.text(f"index.link.{key}", language)) for name, key in
             (("report.html", "report"), ("report.pdf", "pdf"), ("results.json", "results"),
              ("manifest.json", "manifest"))]
    if run.get("status") != "succeeded":
        items = [(n, lab) for n, lab in items if n != "results.json"]  # nothing was published
    shown = []
    for name, label in items:
        path = folder / name
        if not path.exists():
            continue
        if name == "report.pdf":  # a funder sees what the download is before clicking
            size = file_size(path.stat().st_size, language)
            label = i18n.text("index.link.pdf_size", language, size=size)
            shown.append(f'<a href="{e(rel)}/{e(name)}" type="application/pdf" download>{e(label)}</a>')
            continue
        shown.append(f'<a href="{e(rel)}/{e(name)}">{e(label)}</a>')
    return " · ".join(shown)


def file_size(n_bytes: int, language: str) -> str:
    """A file's size for a link: ``412 kB`` (whole kilobytes, 1 kB = 1000 bytes, at least 1) or
    ``1,2 MB`` / ``1.2 MB`` from a million bytes on (SI units, as browsers show downloads)."""
    if n_bytes >= 1_000_000:
        return f"{i18n.number(n_bytes / 1_000_000, language, 1)}\u00a0MB"
    return f"{i18n.number(max(1, round(n_bytes / 1000)), language, 0)}\u00a0kB"


def _when(run: dict[str, Any]) -> str:
    return str(run.get("started_at") or "").replace("T", " ")[:16]


def _panel(run: dict[str, Any], reports_dir: Path, language: str, details: bool,
           newer: list[dict[str, Any]] | None = None, stable: Mapping[int, str] | None = None) -> str:
    """One language version of a card: the current run of that language (``newer``: runs of
    that language after it that did not succeed, said in one line)."""
    e = html_text
    status = str(run.get("status") or "other")
    title = study_title(run, reports_dir, language)
    area = area_text(run, language)
    parts = [f'<h2 class="ev-card-title">{e(title)}</h2>']
    if area:
        parts.append(f'<p class="ev-area">{e(area)}</p>')
    if is_demonstration(run):
        parts.append(f'<p class="ev-demo">{e(i18n.text("index.demo", language))}</p>')
    if status == "succeeded":
        card = headline_card_of(run["_dir"])
        verdict = verdict_of(card, language)
        padlocks, wwc = rating_of(card)
        badges = []
        if verdict is not None:
            badges.append(f'<span class="ev-verdict" style="background:{verdict[2]}">{e(verdict[1])}</span>')
        if padlocks is not None:
            words = i18n.text("headline.padlocks", language, n=padlocks)
            badges.append(f'<span class="ev-padlocks" title="{e(words)}">{_padlocks_svg(padlocks)} {e(words)}</span>')
        if wwc:
            key = _WWC_KEYS.get(wwc.strip().lower())
            badges.append(f'<span class="ev-wwc">{e(i18n.text(key, language) if key else wwc)}</span>')
        if badges:
            parts.append('<p class="ev-badges">' + " ".join(badges) + "</p>")
        why = _explanation(card, language)
        if why:
            parts.append(f'<p class="ev-why">{e(why)}</p>')
        if details:
            lines = headline_lines(run["_dir"], language)
            if lines:
                parts.append(f'<p class="ev-answer">{e(_cut(lines[0]))}</p>')
                parts += [f'<p class="ev-effect">{e(_cut(x))}</p>' for x in lines[1:]]
    else:
        parts.append(f'<p class="ev-problem"><strong>{e(status_text(status, language))}.</strong> '
                     f"{e(error_text(run, language))}</p>")
        detail = run_detail(run) if details else ""
        if detail:
            parts.append(f'<details class="ev-tech"><summary>{e(i18n.text("index.technical", language))}'
                         f"</summary><p><code>{e(detail)}</code></p></details>")
    if newer:
        parts.append(f'<p class="ev-newer">{e(i18n.text("index.newer_failed", language, date=_when(newer[0])))}</p>')
    params = params_shown(run)
    meta = [f'{e(i18n.text("index.date", language))}: {e(_when(run))} UTC',
            f'{e(i18n.text("index.params_file", language))}: {e(params or i18n.text("index.defaults", language))}']
    data_dir = _params(run).get("data_dir")
    if data_dir:
        meta.append(f'{e(i18n.text("index.data", language))}: {e(Path(str(data_dir)).name)}')
    parts.append(f'<p class="ev-meta-line">{" · ".join(meta)}</p>')
    links = _links(run, reports_dir, language)
    address = (stable or {}).get(id(run))
    if address:  # reports/latest/<study>/<params stem>/: the newest success of this params file
        links += (" · " if links else "") + (f'<a class="ev-stable" href="{e(address)}/report.html">'
                                             f'{e(i18n.text("index.link.stable", language))}</a>')
    if links:
        parts.append(f'<p class="ev-links">{links}</p>')
    return "".join(parts)


def params_shown(run: dict[str, Any]) -> str | None:
    """The run's params file as the index shows it: relative to the project (as the manifest records
    it), or only the file's name when it lay outside the project: an absolute path tells where on
    the evaluator's machine it was, and a home folder carries a person's name."""
    entry = run.get("params_file")
    path = entry.get("path") if isinstance(entry, dict) else None
    if not path:
        return None
    text = str(path)
    if text.startswith(("/", "\\")) or (len(text) > 2 and text[1] == ":" and text[2] in "/\\"):
        return text.replace("\\", "/").rsplit("/", 1)[-1]
    return text


def _history(card: Card, reports_dir: Path, language: str, details: bool) -> str:
    e = html_text
    older = card.history()
    if not older:
        return ""
    rows = []
    for run in older:
        status = str(run.get("status") or "other")
        lang = run_language(run)
        if status == "succeeded":
            text = " ".join(headline_lines(run["_dir"], lang)[:1]) if details else ""
        else:
            text = error_text(run, lang) + (f" ({run_detail(run)})" if details and run_detail(run) else "")
        params = params_shown(run)
        kind = status if status in ("succeeded", "failed", "interrupted") else "other"
        rows.append(f'<tr class="ev-{kind}"><td>{e(_when(run))}</td><td>{e(lang.upper())}</td>'
                    f"<td>{e(status_text(status, lang))}</td><td>{e(_cut(text))}</td>"
                    f"<td>{e(params or '')}</td><td>{_links(run, reports_dir, lang)}</td></tr>")
    head = "".join(f"<th>{e(i18n.text(f'index.col.{c}', language))}</th>"
                   for c in ("date", "language", "status", "headline", "params_file"))
    summary = i18n.text("index.history", language, n=len(older))
    return (f'<details class="ev-history"><summary>{e(summary)}</summary><table><thead><tr>{head}<th></th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></details>")


def _newer(card: Card, current: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs of the current run's language, newer than it, that did not succeed (newest first)."""
    if current.get("status") != "succeeded":
        return []
    lang = run_language(current)
    out = []
    for run in card.runs:  # newest first
        if run is current:
            break
        if run_language(run) == lang and run.get("status") != "succeeded":
            out.append(run)
    return out


def _card_html(card: Card, number_: int, reports_dir: Path, details: bool,
               stable: Mapping[int, str] | None = None) -> str:
    current = card.current()
    langs = [lang for lang in LANGUAGE_ORDER if lang in current]
    first = langs[0]
    status = str(current[first].get("status") or "other")
    kind = status if status in ("succeeded", "failed", "interrupted") else "other"
    switch = ""
    if len(langs) > 1:
        switch = '<div class="ev-switch">' + "".join(
            f'<input type="radio" name="ev-lang-{number_}" id="ev-c{number_}-{lang}"'
            f'{" checked" if lang == first else ""}><label for="ev-c{number_}-{lang}" lang="{lang}">'
            f"{lang.upper()}</label>" for lang in langs) + "</div>"
    panels = "".join(
        f'<div class="ev-panel ev-panel-{lang}" lang="{lang}">{_panel(current[lang], reports_dir, lang, details, _newer(card, current[lang]), stable)}</div>'
        for lang in langs)
    history = _history(card, reports_dir, first, details)  # every language's older runs, in one list
    return f'<article class="ev-card ev-{kind}" id="card-{number_}">{switch}{panels}{history}</article>'


# -- the group of one study's per-municipality reports ------------------------------------------

#: A study with at least this many cards about single municipalities (the national comparison not
#: counted) gets a group instead of a card each; fewer stay cards.
GROUP_MIN_CARDS = 3


def _area_of(card: Card) -> tuple[str, str] | None:
    """(parameter, value) of a card's area, from its key (``municipality=Valmieras novads``)."""
    if len(card.key) < 2 or "=" not in card.key[1]:
        return None
    name, value = card.key[1].split("=", 1)
    return (name, value) if name in AREA_PARAMETERS else None


@dataclass
class Group:
    """The cards of one study about municipalities: the national comparison(s) (``municipality:
    all``) shown as cards, the municipalities as a compact list by planning region."""

    study: str
    national: list[Card] = field(default_factory=list)
    municipal: list[Card] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"group-{self.study}"

    def cards(self) -> list[Card]:
        return self.national + self.municipal

    def first_run(self) -> tuple[dict[str, Any], str]:
        current = self.cards()[0].current()
        lang = next(lang for lang in LANGUAGE_ORDER if lang in current)
        return current[lang], lang

    def languages(self) -> list[str]:
        found = {lang for card in self.cards() for lang in card.current()}
        return [lang for lang in LANGUAGE_ORDER if lang in found]

    def title(self, language: str, reports_dir: Path | None = None) -> str:
        key = f"index.group.{self.study}"
        if i18n.has(key) or key in _TEXTS:
            return i18n.text(key, language)
        run, _ = self.first_run()
        return study_title(run, reports_dir or run["_dir"].parent.parent, language)


def split_groups(found: list[Card]) -> tuple[list[Group], list[Card]]:
    """(groups, other cards): a study with :data:`GROUP_MIN_CARDS` or more cards about one
    municipality each becomes a group, with its national comparison(s); every other card (other
    studies, other areas) stays as it is."""
    by_study: dict[str, list[Card]] = {}
    for card in found:
        area = _area_of(card)
        if area is not None and area[0] == "municipality":
            by_study.setdefault(card.key[0], []).append(card)
    groups = []
    for study, members in by_study.items():
        if sum(not is_whole_country(_area_of(card)[1]) for card in members) < GROUP_MIN_CARDS:
            continue
        group = Group(study)
        for card in members:
            (group.national if is_whole_country(_area_of(card)[1]) else group.municipal).append(card)
        groups.append(group)
    grouped = {id(card) for group in groups for card in group.cards()}
    return groups, [card for card in found if id(card) not in grouped]


def _municipal_row(card: Card, reports_dir: Path, details: bool, stable: Mapping[int, str]) -> str:
    """One municipality in the group's list: name, period, a link per language (stable address,
    else the run folder) with its PDF, the state, and the earlier runs collapsed."""
    e = html_text
    current = card.current()
    langs = [lang for lang in LANGUAGE_ORDER if lang in current]
    first = current[langs[0]]
    name = area_name(first, "lv")
    period = ", ".join(period_text(first, langs[0]))
    mapping = _params(first).get("mapping")
    if mapping:
        period += (", " if period else "") + i18n.text("index.area.own_data", langs[0], mapping=Path(str(mapping)).name)
    links = []
    for lang in langs:
        run = current[lang]
        folder = stable.get(id(run)) or run["_dir"].relative_to(reports_dir).as_posix()
        if (reports_dir / folder / "report.html").is_file():
            links.append(f'<a href="{e(folder)}/report.html" lang="{lang}" hreflang="{lang}">{lang.upper()}</a>')
        if run.get("status") == "succeeded" and (reports_dir / folder / "report.pdf").is_file():
            links.append(f'<a href="{e(folder)}/report.pdf" type="application/pdf" download lang="{lang}">'
                         f'{e(i18n.text("index.link.pdf", lang))} {lang.upper()}</a>')
    status = str(first.get("status") or "other")
    kind = status if status in ("succeeded", "failed", "interrupted") else "other"
    state = state_text(first, langs[0])
    newer = _newer(card, first)
    if status != "succeeded":
        state += ": " + error_text(first, langs[0])
    elif newer:
        state += " · " + i18n.text("index.newer_failed", langs[0], date=_when(newer[0]))
    history = _history(card, reports_dir, langs[0], details)
    return (f'<tr class="ev-muni-row ev-{kind}"><th scope="row" lang="lv">{e(name)}</th><td>{e(period)}</td>'
            f'<td class="ev-muni-links">{" · ".join(links)}</td><td lang="{langs[0]}">{e(_cut(state))}</td>'
            f"<td>{history}</td></tr>")


def _group_html(group: Group, first_number: int, reports_dir: Path, details: bool,
                stable: Mapping[int, str]) -> str:
    """The group: its title and introduction in both languages, the national comparison's
    card(s), then the municipalities by planning region (Rīga, Vidzeme, Kurzeme, Zemgale,
    Latgale; names the geography does not know last), alphabetical in Latvian order."""
    from evaltools.data.geography import PLANNING_REGIONS

    e = html_text
    both = lambda key, **kw: (f'{e(i18n.text(key, "lv", **kw))} <span lang="en">· {e(i18n.text(key, "en", **kw))}</span>')  # noqa: E731
    title = (f'{e(group.title("lv", reports_dir))} <span lang="en">· {e(group.title("en", reports_dir))}</span>')
    parts = [f'<section class="ev-group" id="{e(group.anchor)}"><h2 class="ev-group-title">{title}</h2>',
             f'<p class="ev-group-intro">{both("index.group.intro")}</p>']
    parts += [_card_html(card, first_number + k, reports_dir, details, stable) for k, card in enumerate(group.national)]
    by_region: dict[str, list[Card]] = {}
    for card in group.municipal:
        region = planning_region(_area_of(card)[1]) or ""
        by_region.setdefault(region, []).append(card)
    head = "".join(f'<th scope="col">{both(f"index.group.{c}")}</th>' for c in ("area", "period", "report", "state"))
    head += '<th scope="col"></th>'  # the earlier runs, collapsed
    for region in [*PLANNING_REGIONS, ""]:
        members = by_region.get(region)
        if not members:
            continue
        members.sort(key=lambda c: (i18n.collation_key(_area_of(c)[1], "lv"), c.key[2:]))
        heading = (f'{e(region_name(region, "lv"))} <span lang="en">· {e(region_name(region, "en"))}</span>'
                   if region else both("index.group.other"))
        rows = "".join(_municipal_row(card, reports_dir, details, stable) for card in members)
        parts.append(f'<h3 class="ev-region">{heading}</h3><div class="ev-muni"><table class="ev-muni-table">'
                     f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")
    parts.append("</section>")
    return "".join(parts)


def state_text(run: dict[str, Any], language: str) -> str:
    """A run's state in a word or two: the verdict of a run that succeeded, "published (no
    verdict)" for one that has none (a descriptive report, a plan), else its status."""
    status = str(run.get("status") or "other")
    if status != "succeeded":
        return status_text(status, language)
    verdict = verdict_of(headline_card_of(run["_dir"]), language)
    return verdict[1] if verdict else i18n.text("index.state.no_verdict", language)


def _contents(found: list[Card], reports_dir: Path, groups: list[Group] = (), numbers: Mapping[int, int] | None = None) -> str:
    """A table of contents above the cards: each card's title, area, languages and state
    (verdict of a current run, else its status), linking to the card."""
    e = html_text
    rows = []
    for k, card in enumerate(found, 1):
        k = (numbers or {}).get(id(card), k)
        current = card.current()
        langs = [lang for lang in LANGUAGE_ORDER if lang in current]
        run, lang = current[langs[0]], langs[0]
        status = str(run.get("status") or "other")
        state = status_text(status, lang)
        state = state_text(run, lang)
        kind = status if status in ("succeeded", "failed", "interrupted") else "other"
        rows.append(f'<tr class="ev-{kind}" lang="{lang}"><td><a href="#card-{k}">{e(study_title(run, reports_dir, lang))}'
                    f"</a></td><td>{e(area_text(run, lang))}</td><td>{e(' · '.join(x.upper() for x in langs))}</td>"
                    f"<td>{e(state)}</td></tr>")
    for group in groups:
        run, lang = group.first_run()
        rows.append(f'<tr class="ev-group-row" lang="{lang}"><td><a href="#{e(group.anchor)}">{e(group.title(lang))}'
                    f"</a></td><td>{e(i18n.text('index.group.count', lang, n=len(group.municipal)))}</td>"
                    f"<td>{e(' · '.join(x.upper() for x in group.languages()))}</td><td></td></tr>")
    head = "".join(f"<th>{e(i18n.text(f'index.contents.{c}', 'lv'))} · {e(i18n.text(f'index.contents.{c}', 'en'))}</th>"
                   for c in ("study", "area", "languages", "state"))
    return (f'<nav class="ev-contents"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></nav>")


_CSS = """
.ev-contents table { width: 100%; font-size: .9rem; } .ev-contents td, .ev-contents th { text-align: left; vertical-align: top; }
/* on a phone a table scrolls inside its own box, never the page */
.ev-contents, .ev-history { overflow-x: auto; max-width: 100%; }
.ev-contents td, .ev-history td { overflow-wrap: break-word; }
.ev-index { max-width: 62rem; }
.ev-card { border: 1px solid var(--rule, #d0d5db); border-radius: 6px; padding: 1rem 1.25rem; margin: 1.25rem 0;
  background: #fff; position: relative; break-inside: avoid; }
.ev-card.ev-failed { border-left: 6px solid #b42318; } .ev-card.ev-interrupted { border-left: 6px solid #b7791f; }
.ev-card.ev-succeeded { border-left: 6px solid #1b2a3a; }
.ev-card .ev-card-title { margin: 0 0 .2rem; font-size: 1.3rem; border: 0; }
.ev-card:has(.ev-switch) .ev-card-title { padding-right: 6rem; }
.ev-group { margin: 2rem 0; } .ev-group-title { margin-bottom: .3rem; } .ev-group-intro { color: #4a5560; margin: 0 0 .8rem; }
.ev-region { margin: 1.2rem 0 .3rem; font-size: 1.05rem; }
.ev-muni { overflow-x: auto; max-width: 100%; }
.ev-muni-table { width: 100%; border-collapse: collapse; font-size: .9rem; }
.ev-muni-table th, .ev-muni-table td { text-align: left; vertical-align: top; padding: .2rem .4rem; border-bottom: 1px solid #e3e6ea; }
.ev-muni-table tbody th { font-weight: 600; white-space: nowrap; } .ev-muni-links { white-space: nowrap; }
.ev-muni-table .ev-history { margin-top: 0; }
.ev-area { margin: 0 0 .5rem; color: #4a5560; font-weight: 600; }
.ev-demo { display: inline-block; margin: 0 0 .5rem; padding: .15rem .6rem; border-radius: 3px;
  background: #fff4d6; color: #6b4a00; border: 1px solid #e0c36c; font-size: .85rem; font-weight: 600; }
.ev-badges { margin: .3rem 0 .5rem; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.ev-verdict { color: #fff; font-weight: 700; padding: .15rem .6rem; border-radius: 3px; }
.ev-padlocks svg { vertical-align: -2px; margin-right: 1px; } .ev-wwc { color: #4a5560; font-size: .9rem; }
.ev-why { margin: 0 0 .4rem; color: #4a5560; font-size: .9rem; }
.ev-answer { font-size: 1.05rem; font-weight: 600; margin: .3rem 0; } .ev-effect { margin: .2rem 0; }
.ev-problem { background: #fbeeee; padding: .5rem .75rem; border-radius: 4px; }
.ev-card.ev-interrupted .ev-problem { background: #fff4d6; }
.ev-newer { color: #7a4d00; background: #fff4d6; padding: .2rem .5rem; border-radius: 3px; font-size: .9rem; }
.ev-meta-line { color: #6b7480; font-size: .8rem; margin: .6rem 0 .2rem; overflow-wrap: anywhere; } .ev-links { margin: .2rem 0; }
.ev-tech, .ev-history { margin-top: .6rem; font-size: .85rem; } .ev-tech code { overflow-wrap: anywhere; }
.ev-history summary, .ev-tech summary { cursor: pointer; color: #1b4f8a; }
.ev-history table { font-size: .8rem; width: 100%; border-collapse: collapse; }
.ev-history td, .ev-history th { text-align: left; vertical-align: top; padding: .15rem .3rem; }
.ev-history td:nth-child(5) { word-break: break-all; } .ev-history td:nth-child(1) { white-space: nowrap; }
tr.ev-failed td { background: #fbeeee; } tr.ev-interrupted td { background: #fff4d6; }
.ev-switch { position: absolute; top: .8rem; right: 1rem; display: flex; gap: .25rem; }
.ev-switch input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.ev-switch label { border: 1px solid #1b4f8a; color: #1b4f8a; border-radius: 3px; padding: .05rem .45rem;
  cursor: pointer; font-size: .85rem; font-weight: 600; }
.ev-switch input:checked + label { background: #1b4f8a; color: #fff; }
.ev-switch input:focus-visible + label { outline: 2px solid #1b4f8a; outline-offset: 2px; }
.ev-card:has(.ev-switch) .ev-panel { display: none; }
.ev-card:has(.ev-switch input[id$="-lv"]:checked) .ev-panel-lv,
.ev-card:has(.ev-switch input[id$="-en"]:checked) .ev-panel-en { display: block; }
@media print { .ev-switch, .ev-history, .ev-tech { display: none; } .ev-card .ev-panel { display: block !important; }
  .ev-panel + .ev-panel { border-top: 1px dashed #c9ced4; margin-top: .8rem; padding-top: .6rem; } }
"""


def build_site(reports_dir: Path, headlines: bool = True) -> Path:
    """Write ``reports_dir/index.html`` and return its path. ``headlines=False`` leaves
    out every run's headline and error message (the runner's fallback when the privacy
    gate finds an identifier in the full index)."""
    from evaltools.report.latest import publish_latest

    reports_dir.mkdir(parents=True, exist_ok=True)
    e = html_text
    all_runs = runs(reports_dir)
    try:  # reports/latest/<study>/<params stem>/ (evaltools.report.latest); never stops the index
        stable = {id(a.run): a.rel for a in publish_latest(reports_dir, all_runs).values()}
    except Exception:
        stable = {}
    groups, found = split_groups(cards(all_runs))
    numbers = {id(card): k for k, card in enumerate(found, 1)}
    body = "\n".join(_card_html(card, numbers[id(card)], reports_dir, headlines, stable) for card in found)
    first = len(found) + 1
    for group in groups:
        body += "\n" + _group_html(group, first, reports_dir, headlines, stable)
        first += len(group.national)
    if found or groups:
        body = _contents(found, reports_dir, groups, numbers) + "\n" + body
    if not body:
        body = f'<p>{e(i18n.text("index.empty", "lv"))} · {e(i18n.text("index.empty", "en"))}: <code>evaltools run-all</code></p>'
    css = (TEMPLATES / "funder" / "funder.css").read_text(encoding="utf-8")
    t = {lang: {k: e(i18n.text(f"index.{k}", lang)) for k in ("title", "intro")} for lang in LANGUAGE_ORDER}
    page = f"""<!DOCTYPE html>
<html lang="lv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t['lv']['title']} · {t['en']['title']}</title><style>{css}{_CSS}</style></head><body>
<header class="ev-header ev-index"><p class="ev-programme">evaltools</p>
<h1 class="ev-title">{t['lv']['title']} <span lang="en">· {t['en']['title']}</span></h1>
<p class="ev-meta">{t['lv']['intro']}<br><span lang="en">{t['en']['intro']}</span></p></header>
<main class="ev-main ev-index">
{body}
</main></body></html>
"""
    check_self_contained(page, reports_dir / "index.html")
    out = reports_dir / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
