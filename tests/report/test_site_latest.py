"""Stable addresses (evaltools.report.latest): reports/latest/<study>/<params stem>/ holds the
newest run of each params file that succeeded, the national comparison's copy links its table
rows to the municipalities' addresses, every link in the index and the copies answers, and the
run folders (earlier runs, failed and interrupted ones) are left exactly as they were.
Hand-written run folders, no kernel."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import pytest

from evaltools.report.latest import LATEST_DIR, MARKER, addresses, link_rows, publish_latest
from evaltools.report.pagecheck import check_self_contained
from evaltools.report.site import build_site, runs

STUDY = "municipal_quality"
ROW = '<th class="row_heading level0 row{k}" id="T_x_level0_row{k}">{name}</th>'


def _table(names: list[str]) -> str:
    rows = "".join(f"<tr>{ROW.format(k=k, name=n)}<td>1</td></tr>" for k, n in enumerate(names))
    return f'<div class="evt-table"><table><tbody>{rows}</tbody></table></div>'


def _run(reports: Path, run_id: str, stem: str, params: dict, status: str = "succeeded", body: str = "") -> Path:
    folder = reports / STUDY / run_id
    (folder / "tables").mkdir(parents=True)
    stamp = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:00+00:00"
    manifest = {"study": STUDY, "run_id": run_id, "status": status, "started_at": stamp,
                "parameters": {"data_dir": "data/sample", "first_year": 2020, "last_year": 2023, **params},
                "params_file": {"path": f"params/{stem}.yaml"}}
    if status != "succeeded":
        manifest["error"] = {"kind": "cell error", "message": "DataError: no data"}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (folder / "results.json").write_text("{}", "utf-8")
    (folder / "report.html").write_text(f"<!DOCTYPE html><html><body><h1>{run_id}</h1>{body}</body></html>", "utf-8")
    (folder / "report.pdf").write_bytes(b"%PDF-1.7 " + run_id.encode())
    (folder / "tables" / "indicators.csv").write_text("a,b\n1,2\n", "utf-8")
    return folder


NAMES = ["Valmieras novads", "Cēsu novads", "Rīga", "Ludzas novads"]


@pytest.fixture
def reports(tmp_path):
    reports = tmp_path / "reports"
    national = _table([*NAMES, "Latvija"])
    _run(reports, "20260101T100000Z-municipal_quality", "municipal_quality", {"municipality": "all", "language": "lv"},
         body=national)
    _run(reports, "20260101T100500Z-municipal_quality_en", "municipal_quality_en",
         {"municipality": "all", "language": "en"}, body=national)
    _run(reports, "20260101T110000Z-valmieras-novads", "valmieras-novads", {"municipality": "Valmieras novads"},
         body=_table(["Valmieras novads", "Latvija"]))
    _run(reports, "20260101T110100Z-cesu-novads", "cesu-novads", {"municipality": "Cēsu novads"})
    # Rīga: an older success, then a newer failure (the address keeps the success)
    _run(reports, "20260101T110200Z-riga", "riga", {"municipality": "Rīga"})
    _run(reports, "20260102T090000Z-riga", "riga", {"municipality": "Rīga"}, status="failed")
    # Ludza: only a failure (no address, so no link)
    _run(reports, "20260101T110300Z-ludzas-novads", "ludzas-novads", {"municipality": "Ludzas novads"},
         status="interrupted")
    # Valmiera for another period: not linked from the 2020-2023 comparison
    _run(reports, "20260101T120000Z-municipal_quality_valmiera", "municipal_quality_valmiera",
         {"municipality": "Valmieras novads", "first_year": 2016, "last_year": 2019})
    return reports


def _digests(reports: Path) -> dict[str, str]:
    """Every file of the run folders (not reports/latest/, not the index) and its SHA-256."""
    return {p.relative_to(reports).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((reports / STUDY).rglob("*")) if p.is_file()}


def _hrefs(page: Path) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"#][^"]*)"', page.read_text("utf-8"))]


def test_each_params_file_has_the_newest_success_at_a_stable_address(reports):
    build_site(reports)
    base = reports / LATEST_DIR / STUDY
    assert sorted(p.name for p in base.iterdir()) == sorted(
        ["municipal_quality", "municipal_quality_en", "valmieras-novads", "cesu-novads", "riga",
         "municipal_quality_valmiera"])  # ludzas-novads never succeeded: no address
    riga = json.loads((base / "riga" / MARKER).read_text("utf-8"))
    assert riga["run_id"] == "20260101T110200Z-riga"  # the newer run failed
    assert "20260101T110200Z-riga" in (base / "riga" / "report.html").read_text("utf-8")
    source = reports / STUDY / "20260101T110000Z-valmieras-novads"
    copy = base / "valmieras-novads"
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()) == [
        MARKER, "report.html", "report.pdf", "results.json", "tables/indicators.csv"]  # no manifest
    for name in ("report.html", "report.pdf", "tables/indicators.csv"):
        assert (copy / name).read_bytes() == (source / name).read_bytes()
    assert (copy / "report.pdf").stat().st_ino == (source / "report.pdf").stat().st_ino  # a hard link, no extra space
    # the run folder the copy came from, relative to the copy
    assert (copy / json.loads((copy / MARKER).read_text())["run_folder"] / "manifest.json").is_file()


def test_run_folders_lifecycle_and_history_are_untouched(reports):
    before = _digests(reports)
    listed = [(r["run_id"], r["status"]) for r in runs(reports)]
    build_site(reports)
    build_site(reports)
    assert _digests(reports) == before
    assert [(r["run_id"], r["status"]) for r in runs(reports)] == listed  # latest/ is not a run
    assert not list(reports.glob(f"{LATEST_DIR}/*/manifest.json"))


def test_the_national_comparison_links_each_municipality_that_has_a_report(reports):
    build_site(reports)
    base = reports / LATEST_DIR / STUDY
    page = (base / "municipal_quality" / "report.html").read_text("utf-8")
    links = dict((unescape(t), h) for h, t in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page))
    assert links == {"Valmieras novads": "../valmieras-novads/report.html",  # the same period's, not 2016-2019
                     "Cēsu novads": "../cesu-novads/report.html", "Rīga": "../riga/report.html"}
    assert "Ludzas novads</th>" in page  # no report: no link
    check_self_contained(page, "national")
    # the English comparison links the same (only) municipal reports
    en = (base / "municipal_quality_en" / "report.html").read_text("utf-8")
    assert en.count('<a href="../') == 3
    # the run folder's own report is never changed
    assert "<a " not in (reports / STUDY / "20260101T100000Z-municipal_quality" / "report.html").read_text("utf-8")
    # a municipality's report does not get links (its copy is the run's file)
    own = base / "valmieras-novads" / "report.html"
    assert own.read_bytes() == (reports / STUDY / "20260101T110000Z-valmieras-novads" / "report.html").read_bytes()


def test_every_link_of_the_index_and_the_copies_answers_also_in_a_copied_folder(reports, tmp_path):
    build_site(reports)
    moved = tmp_path / "served" / "reports"  # the folder copied elsewhere (e.g. to a web server)
    shutil.copytree(reports, moved)
    pages = [moved / "index.html", *moved.glob(f"{LATEST_DIR}/*/*/report.html")]
    checked = 0
    for page in pages:
        for href in _hrefs(page):
            assert not re.match(r"^[a-z]+:|^/", href), (page, href)  # relative links only
            assert (page.parent / unquote(href)).resolve().is_file(), (page.relative_to(moved), href)
            checked += 1
    assert checked > 20
    index = (moved / "index.html").read_text("utf-8")
    assert f'href="{LATEST_DIR}/{STUDY}/municipal_quality/report.html"' in index  # the stable address is offered


def test_a_new_success_moves_the_address_and_a_deleted_run_withdraws_it(reports):
    build_site(reports)
    base = reports / LATEST_DIR / STUDY
    _run(reports, "20260103T090000Z-riga", "riga", {"municipality": "Rīga"})
    build_site(reports)
    assert json.loads((base / "riga" / MARKER).read_text())["run_id"] == "20260103T090000Z-riga"
    shutil.rmtree(reports / STUDY / "20260101T110100Z-cesu-novads")  # withdrawn by hand
    build_site(reports)
    assert not (base / "cesu-novads").exists()
    page = (base / "municipal_quality" / "report.html").read_text("utf-8")
    assert "../cesu-novads/" not in page and "../riga/report.html" in page  # links follow
    assert not [p for p in base.iterdir() if p.name.startswith(".")]  # no half-written folder left


def test_an_unchanged_address_is_not_rewritten(reports):
    build_site(reports)
    marker = reports / LATEST_DIR / STUDY / "municipal_quality" / MARKER
    stamp = marker.stat().st_mtime_ns
    build_site(reports)
    assert marker.stat().st_mtime_ns == stamp


def test_link_rows_touches_only_row_headings_and_keeps_the_escaped_text():
    page = ('<table><thead><tr><th class="col_heading level0 col0">Rīga</th></tr></thead><tbody>'
            + ROW.format(k=0, name="Rīga") + ROW.format(k=1, name="A &amp; B") + "</tbody></table><p>Rīga</p>")
    out = link_rows(page, {"Rīga": "../riga/report.html", "A & B": "../a-b/report.html"})
    assert out.count("<a ") == 2
    assert '<a href="../riga/report.html">Rīga</a></th>' in out and '<a href="../a-b/report.html">A &amp; B</a>' in out
    assert '<th class="col_heading level0 col0">Rīga</th>' in out and "<p>Rīga</p>" in out
    assert link_rows(page, {}) == page


def test_addresses_need_a_succeeded_run_with_a_report_and_a_plain_name(tmp_path):
    reports = tmp_path / "reports"
    ok = _run(reports, "20260101T100000Z-a", "a", {"municipality": "all"})
    no_page = _run(reports, "20260101T100100Z-b", "b", {"municipality": "Rīga"})
    (no_page / "report.html").unlink()
    found = addresses(runs(reports))
    assert list(found) == [(STUDY, "a")] and found[(STUDY, "a")].run["_dir"] == ok
    assert publish_latest(reports, runs(reports)).keys() == {(STUDY, "a")}


PAYLOAD = '<svg onload=alert(1)> "m0" & <img src=x onerror=alert(2)>'


def test_a_hostile_area_name_is_linked_as_text(tmp_path):
    from tests.adversarial.test_markup import live_markup

    reports = tmp_path / "reports"
    escaped = PAYLOAD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    _run(reports, "20260101T100000Z-municipal_quality", "municipal_quality", {"municipality": "all"},
         body=_table([escaped, "Rīga"]))
    _run(reports, "20260101T110000Z-hostile", "hostile", {"municipality": PAYLOAD})
    build_site(reports)
    page = (reports / LATEST_DIR / STUDY / "municipal_quality" / "report.html").read_text("utf-8")
    assert f'<a href="../hostile/report.html">{escaped}</a>' in page
    assert live_markup(page) == [] and live_markup((reports / "index.html").read_text("utf-8")) == []
    check_self_contained(page, "national")
