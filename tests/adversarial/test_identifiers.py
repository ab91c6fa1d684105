"""Adversarial cases: identifiers never leave through a published file or a message.

Three groups, each case a distinct parameter id:

- ``learn``: the privacy gate learns every identifier column through the loader's column
  mapping, for every input format (Parquet, CSV with ``,`` or ``;``, Excel), and then
  fails a run folder that shows one of those ids;
- ``scan``: an id or a personal code hidden in any kind of published file (HTML, JSON,
  CSV, XLSX cells/properties/sheet names, SVG, PNG text chunks, data URIs, PDF, notebook,
  gzip, file names) is found; numbers that only look like one are not;
- ``message``: data errors (``load_dataset``, ``validate`` and ``evaltools data check``)
  name the file, column and rows, never an id value, and hold no traceback.
"""
from __future__ import annotations

import base64
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pandas as pd
import pytest

from evaltools.data import DataFileError, DataValidationError, load_dataset, validate
from evaltools.report.privacy import identifier_values, scan_run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
EVALTOOLS = [sys.executable, "-m", "evaltools.cli"]
PID = "Pab12cd34ef"  # a pupil id as the loader sees it
TID = "Tfe98dc76ba"
PLAN = "PLx0042abc"
CODE = "010203-12345"  # a personal code
TRACEBACK = "Traceback (most recent call last)"


def assert_clean_message(text: str, *must_name: str, values: tuple[str, ...] = (PID, TID, PLAN)) -> None:
    """The message names what it must, holds no traceback and no identifier value."""
    assert TRACEBACK not in text and "Error(" not in text, text
    for name in must_name:
        assert name in text, (name, text)
    low = text.lower()
    for v in values:
        assert v.lower() not in low, (v, text)
    assert "12345" not in text or CODE not in text


# ------------------------------------------------------------------------ learn: ids through the mapping


def _extract(kind: str, d: Path) -> tuple[list[Path], set[str]]:
    """An extract whose id columns have their own names, plus its mapping; returns (inputs, ids)."""
    d.mkdir(parents=True, exist_ok=True)
    py = pd.DataFrame({"skolena_pseidonims": [PID, "Pzz99yy88xx"], "macibu_gads": [2014, 2015]})
    mapping = d.parent / f"{d.name}_mapping.yaml"
    ids = {PID, "Pzz99yy88xx"}
    if kind == "parquet":
        py.to_parquet(d / "pupil_years.parquet")
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "csv":
        py.to_csv(d / "pupil_years.csv", index=False)
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "csv_semicolon":
        py.assign(vid=[1.5, 2.5]).to_csv(d / "pupil_years.csv", index=False, sep=";", decimal=",")
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "xlsx":
        py.to_excel(d / "pupil_years.xlsx", index=False)
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "xlsx_second_sheet":
        with pd.ExcelWriter(d / "pupil_years.xlsx") as xw:
            pd.DataFrame({"note": ["x"]}).to_excel(xw, sheet_name="info", index=False)
            py.to_excel(xw, sheet_name="data", index=False)
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "files_entry":
        py.to_csv(d / "skolenu_gadi.csv", index=False)
        mapping.write_text("files:\n  pupil_years: skolenu_gadi.csv\npupil_years:\n  skolena_pseidonims: pupil_id\n",
                           encoding="utf-8")
    elif kind == "flat_mapping":
        py.to_parquet(d / "pupil_years.parquet")
        mapping.write_text("skolena_pseidonims: pupil_id\n", encoding="utf-8")
    elif kind == "teacher_id":
        pd.DataFrame({"skolotaja_kods": [TID], "dzimums": ["F"]}).to_parquet(d / "teachers.parquet")
        mapping.write_text("teachers:\n  skolotaja_kods: teacher_id\n", encoding="utf-8")
        ids = {TID}
    elif kind == "plan_id":
        pd.DataFrame({"plana_nr": [PLAN], "skolena_pseidonims": [PID]}).to_csv(d / "support_plans.csv", index=False)
        mapping.write_text("support_plans:\n  plana_nr: plan_id\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
        ids = {PLAN, PID}
    elif kind == "personal_code_column":
        pd.DataFrame({"personal_code": [CODE], "x": [1]}).to_csv(d / "raw.csv", index=False)
        mapping.write_text("pupils:\n  vards: name\n", encoding="utf-8")
        ids = {CODE}
    elif kind == "header_case_and_blanks":
        pd.DataFrame({" Pupil_ID ": [PID], "year": [2014]}).to_csv(d / "pupil_years.csv", index=False)
        mapping.write_text("pupils:\n  x: sex\n", encoding="utf-8")
        ids = {PID}
    elif kind == "numeric_ids_in_excel":
        pd.DataFrame({"skolena_nr": [123456, 234567]}).to_excel(d / "pupils.xlsx", index=False)
        mapping.write_text("pupils:\n  skolena_nr: pupil_id\n", encoding="utf-8")
        ids = {"123456", "234567"}
    elif kind == "subfolder":
        (d / "2015").mkdir()
        py.to_parquet(d / "2015" / "pupil_years.parquet")
        mapping.write_text("pupil_years:\n  skolena_pseidonims: pupil_id\n", encoding="utf-8")
    else:
        raise AssertionError(kind)
    return [d, mapping], ids


LEARN = ["parquet", "csv", "csv_semicolon", "xlsx", "xlsx_second_sheet", "files_entry", "flat_mapping",
         "teacher_id", "plan_id", "personal_code_column", "header_case_and_blanks", "numeric_ids_in_excel",
         "subfolder"]


@pytest.mark.parametrize("kind", LEARN)
def test_gate_learns_renamed_ids(kind, tmp_path):
    inputs, ids = _extract(kind, tmp_path / "extract")
    found = identifier_values(inputs)  # the mapping is found among the run's inputs
    assert ids <= set(found), kind
    # ... and a run folder showing one of them fails the gate, naming the file, not the value
    run = tmp_path / "run"
    run.mkdir()
    shown = sorted(ids)[0]
    (run / "report.html").write_text(f"<td>{shown}</td>", encoding="utf-8")
    hits = scan_run(run, found)
    assert list(hits) == ["report.html"]
    assert shown.lower() not in repr(hits).lower()


def test_gate_learns_ids_with_explicit_mapping_argument(tmp_path):
    inputs, ids = _extract("csv", tmp_path / "extract")
    assert identifier_values([inputs[0]]) == set()  # without the mapping: nothing named pupil_id
    assert ids <= set(identifier_values([inputs[0]], mapping=inputs[1]))


def test_gate_learns_ids_from_the_runners_name_to_path_dict(tmp_path):
    inputs, ids = _extract("xlsx", tmp_path / "extract")
    assert ids <= set(identifier_values({"data_dir": inputs[0], "mapping": inputs[1]}))


def test_unreadable_input_is_reported_not_raised(tmp_path):
    d = tmp_path / "extract"
    d.mkdir()
    (d / "pupils.parquet").write_bytes(b"not a parquet file")
    (d / "pupil_years.xlsx").write_bytes(b"PK\x03\x04 broken")
    found = identifier_values([d])
    assert set(found.unreadable) == {str(d / "pupils.parquet"), str(d / "pupil_years.xlsx")}
    assert TRACEBACK not in " ".join(found.unreadable.values())


# ------------------------------------------------------------------------ scan: every kind of published file


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, b) for k, b in chunks)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _xlsx(value: str, where: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["A1"] = "count"
    ws["A2"] = 12
    if where == "cell":
        ws["B2"] = value
    elif where == "title":
        wb.properties.title = f"Report on {value}"
    elif where == "sheet":
        ws.title = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _pdf(value: str, compressed: bool) -> bytes:
    content = f"BT /F1 12 Tf 72 712 Td ({value}) Tj ET".encode("latin-1")
    stream = zlib.compress(content) if compressed else content
    filt = b"/Filter /FlateDecode " if compressed else b""
    return (b"%PDF-1.4\n1 0 obj << /Title (Funder report) >> endobj\n2 0 obj << " + filt
            + b"/Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream\nendobj\n%%EOF\n")


def _ipynb_png(value: str) -> str:
    png = base64.b64encode(_png([(b"tEXt", b"Title\0" + value.encode())])).decode()
    return json.dumps({"cells": [{"cell_type": "code", "source": "plot()", "outputs": [
        {"output_type": "display_data", "data": {"image/png": png}}]}], "metadata": {}, "nbformat": 4})


def _published(kind: str, v: str) -> tuple[str, bytes]:
    """A published file of the given kind with ``v`` hidden in it: (relative path, bytes)."""
    ent = "".join(f"&#{ord(c)};" for c in v)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="2">{v}</text></svg>'
    return {
        "html_text": ("report.html", f"<html><body><td>{v}</td></body></html>".encode()),
        "html_entities": ("report.html", f"<p>{ent}</p>".encode()),
        "html_upper_case": ("report.html", f"<p>pupil {v.upper()} left</p>".encode()),
        "results_json": ("results.json", json.dumps({"headline": {"label": v, "n": 17}}).encode()),
        "json_unicode_escapes": ("results.json", ('{"x": "' + "".join(f"\\u{ord(c):04x}" for c in v)
                                                   + '"}').encode()),
        "manifest_error": ("manifest.json", json.dumps({"status": "failed", "error": {
            "message": f"KeyError: '{v}'"}}).encode()),
        "table_csv": ("tables/t1.csv", f"group,count\n{v},12\n".encode()),
        "table_xlsx_cell": ("tables/t1.xlsx", _xlsx(v, "cell")),
        "table_xlsx_title": ("tables/t1.xlsx", _xlsx(v, "title")),
        "table_xlsx_sheet_name": ("tables/t1.xlsx", _xlsx(v[:31], "sheet")),
        "figure_svg": ("figures/f1.svg", svg.encode()),
        "figure_svgz": ("figures/f1.svgz", gzip.compress(svg.encode(), mtime=0)),
        "png_text_chunk": ("figures/f1.png", _png([(b"tEXt", b"Comment\0" + v.encode())])),
        "png_itxt_compressed": ("figures/f1.png", _png([(b"iTXt", b"Title\0\x01\x00en\0\0"
                                                         + zlib.compress(v.encode()))])),
        "png_data_uri_in_html": ("report.html", b'<img src="data:image/png;base64,'
                                 + base64.b64encode(_png([(b"tEXt", b"Author\0" + v.encode())])) + b'">'),
        "svg_data_uri_in_html": ("report.html", b'<img src="data:image/svg+xml;base64,'
                                 + base64.b64encode(svg.encode()) + b'">'),
        "svg_percent_uri_in_css": ("report.html", ("<style>a{background:url(data:image/svg+xml,"
                                                   + "%3Ctext%3E" + "".join(f"%{ord(c):02X}" for c in v)
                                                   + "%3C/text%3E)}</style>").encode()),
        "pdf_uncompressed": ("report.pdf", _pdf(v, compressed=False)),
        "pdf_flate_stream": ("report.pdf", _pdf(v, compressed=True)),
        "text_in_subfolder": ("extra/deep/notes.txt", f"see {v}\n".encode()),
        "notebook_text_output": ("notebook.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": "x",
                                 "outputs": [{"output_type": "stream", "text": [f"{v}\n"]}]}]}).encode()),
        "notebook_png_output": ("notebook.ipynb", _ipynb_png(v).encode()),
        "file_name": (f"tables/{v}.csv", b"a,b\n1,2\n"),
        "utf16_text": ("export.txt", ("\ufeff" + f"id {v}").encode("utf-16-le")),
    }[kind]


SCAN_KINDS = ["html_text", "html_entities", "html_upper_case", "results_json", "json_unicode_escapes",
              "manifest_error", "table_csv", "table_xlsx_cell", "table_xlsx_title", "table_xlsx_sheet_name",
              "figure_svg", "figure_svgz", "png_text_chunk", "png_itxt_compressed", "png_data_uri_in_html",
              "svg_data_uri_in_html", "svg_percent_uri_in_css", "pdf_uncompressed", "pdf_flate_stream",
              "text_in_subfolder", "notebook_text_output", "notebook_png_output", "file_name", "utf16_text"]


def _run_with(tmp_path: Path, rel: str, data: bytes) -> Path:
    run = tmp_path / "run"
    (run / rel).parent.mkdir(parents=True, exist_ok=True)
    (run / rel).write_bytes(data)
    (run / "report.html").exists() or (run / "report.html").write_text("<p>42 pupils, 2014</p>")
    return run


@pytest.mark.parametrize("kind", SCAN_KINDS)
def test_id_in_any_published_file_is_found(kind, tmp_path):
    rel, data = _published(kind, PID)
    hits = scan_run(_run_with(tmp_path, rel, data), {PID, "Pzz99yy88xx"})
    assert list(hits) == [rel.replace(PID, "<name withheld>")], hits
    assert PID.lower() not in repr(hits).lower()  # file names, kinds and counts only


@pytest.mark.parametrize("kind", ["html_text", "table_xlsx_cell", "png_text_chunk", "pdf_flate_stream",
                                  "notebook_png_output", "results_json"])
def test_personal_code_in_any_published_file_is_found(kind, tmp_path):
    rel, data = _published(kind, CODE)
    hits = scan_run(_run_with(tmp_path, rel, data), set())
    assert list(hits) == [rel], hits
    assert CODE not in repr(hits)


@pytest.mark.parametrize("text", [
    "kods 010203-12345.", "kods 01020312345.", "jaunais kods 321234-56789", "Nr.01020312345",
    "PK:010203-12345", "010203 12345", "010203\u201312345", "kods=32123456789;",
], ids=["hyphen", "no_hyphen", "new_32_form", "nr_prefix", "pk_prefix", "space", "en_dash", "new_form_no_hyphen"])
def test_personal_code_forms_fail_the_gate(text, tmp_path):
    hits = scan_run(_run_with(tmp_path, "report.html", f"<p>{text}</p>".encode()), set())
    assert hits == {"report.html": ["personal code"]}


@pytest.mark.parametrize("text", [
    '{"ci_low": 5556.01094253253}', '{"x": -0.01094253253}', "5556,01094253253", "0101011234567",
    "sha256 0a1b2c3d4e5f01020312345aabbccddeeff00112233445566778899aabbcc", "990203-12345",
], ids=["float_decimals", "negative_decimals", "decimal_comma", "thirteen_digits", "hex_hash", "no_such_date"])
def test_numbers_that_only_look_like_a_code_pass(text, tmp_path):
    rel = "results.json" if text.startswith("{") else "report.html"
    assert scan_run(_run_with(tmp_path, rel, text.encode()), set()) == {}


@pytest.mark.parametrize("ids,text,expect", [
    ({"17", "Pab12cd34ef"}, "<td>17</td>", ["identifier (short or numeric)"]),
    ({"20240901"}, '{"seed": 20240901}', ["identifier (short or numeric)"]),
    ({"A7"}, "<p>Table A7 shows</p>", ["identifier (short or numeric)"]),
    ({"A7"}, "<p>Table A77 and XA7 show</p>", []),
    ({"AB-1234567"}, "<p>id AB-1234567.</p>", ["identifier"]),
    ({"AB-1234567"}, "<p>id 1234567 and AB-12345678</p>", []),
    ({PID}, f"<p>{PID}x and x{PID}</p>", []),
    ({"Jānis Bērziņš"}, "<p>skolēns jānis bērziņš</p>", ["identifier"]),
], ids=["short_numeric_count", "numeric_id_is_the_seed", "two_char_id", "short_id_inside_longer_tokens",
        "hyphenated_id", "hyphenated_id_only_in_part", "id_as_part_of_a_longer_token", "id_with_a_space"])
def test_whole_token_matching_of_any_length(ids, text, expect, tmp_path):
    hits = scan_run(_run_with(tmp_path, "report.html", text.encode()), ids)
    assert hits.get("report.html", []) == expect


def test_short_ids_fail_with_a_message_that_says_what_to_do(tmp_path):
    from evaltools.report.privacy import describe_hits

    hits = scan_run(_run_with(tmp_path, "report.html", b"<td>17</td><td>17</td>"), {"17"})
    msg = describe_hits(hits)
    assert_clean_message(msg, "report.html", "2 identifiers (short or numeric)", "evaltools data pseudonymise")


def test_index_page_is_scanned(tmp_path):
    from evaltools.report.privacy import describe_hits, scan_index

    (tmp_path / "index.html").write_text(f"<li>failed: unknown pupil {PID}</li>", encoding="utf-8")
    hits = scan_index(tmp_path, {PID})
    assert hits == {"index.html": ["identifier"]}
    assert_clean_message(describe_hits(hits), "index.html: 1 identifier")


def test_shipped_run_style_folder_with_sample_ids_is_clean(tmp_path):
    """No false alarm: a folder of ordinary numbers, hashes and images with the sample's ids."""
    ids = identifier_values([SAMPLE])
    assert len(ids) > 30_000
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    (run / "report.html").write_text('<p>Early leaving 4.5 % of 570 pupil-years (2014-2023), '
                                     'CI 0.01094253253</p><img src="data:image/png;base64,'
                                     + base64.b64encode(_png([(b"tEXt", b"Software\0matplotlib")])).decode()
                                     + '">', encoding="utf-8")
    (run / "manifest.json").write_text(json.dumps({"sha256": "ab" * 32, "seed": 20240901}), encoding="utf-8")
    (run / "tables" / "t.csv").write_text("school,n\nS0065,120\n", encoding="utf-8")
    assert scan_run(run, ids) == {}


# ------------------------------------------------------------------------ message: data errors without ids


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A small valid data set (CSV) from the sample: three schools' pupils."""
    tabs = {p.stem: pd.read_parquet(p) for p in SAMPLE.glob("*.parquet")}
    schools = tabs["pumpurs_schools"].dropna()["school_id"].iloc[:2]
    pids = set(tabs["pupil_years"].loc[tabs["pupil_years"]["school_id"].isin(schools), "pupil_id"])
    d = tmp_path_factory.mktemp("tiny")
    for k, v in tabs.items():
        if "pupil_id" in v.columns:
            v = v[v["pupil_id"].isin(pids)]
        v.reset_index(drop=True).to_csv(d / f"{k}.csv", index=False)
    return d


def _copy(src: Path, dst: Path, table: str, change) -> Path:
    dst.mkdir()
    for p in src.glob("*.csv"):
        (dst / p.name).write_bytes(p.read_bytes())
    df = pd.read_csv(dst / f"{table}.csv")
    change(df).to_csv(dst / f"{table}.csv", index=False)
    return dst


def _set(col: str, value, row: int = 2):
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
        return df
    return change


def _dup_first(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]]], ignore_index=True)


LOAD_CASES = {
    # id: (table, change, must name, secret values)
    "unknown_pupil_id": ("pupil_years", _set("pupil_id", PID), ("pupil_years.csv", "pupil_id", "1 id", "rows"), ()),
    "unknown_teacher_id": ("assessments", _set("teacher_id", TID), ("assessments.csv", "teacher_id", "1 id"), ()),
    "unknown_plan_id": ("support_measures", _set("plan_id", PLAN), ("support_measures.csv", "plan_id", "1 id"),
                        ()),
    "duplicate_pupil_year": ("pupil_years", _dup_first, ("pupil_years.csv", "duplicate pupil-year"), ("first",)),
    "duplicate_pupil": ("pupils", _dup_first, ("pupils.csv", "duplicate (pupil_id)"), ("first",)),
    "duplicate_plan": ("support_plans", _dup_first, ("support_plans.csv", "duplicate (plan_id)"), ("first",)),
    "ids_mapped_into_year": ("risk_scores", _set("year", PID), ("risk_scores.csv", "'year'", "<id-like value>"),
                             ()),
    "id_in_a_code_column": ("pupils", _set("sex", PID), ("pupils.csv", "'sex'", "<id-like value>"), ()),
    "personal_code_in_a_code_column": ("pupils", _set("language", "LV 010203-12345"),
                                       ("pupils.csv", "'language'", "<personal code>"), ()),
    "numeric_id_in_a_number_column": ("pupil_years", _set("absences", 12345678901),
                                      ("pupil_years.csv", "'absences'", "<id-like value>"), ()),
}


@pytest.mark.parametrize("case", list(LOAD_CASES))
def test_load_dataset_errors_never_quote_ids(case, tiny, tmp_path):
    table, change, names, secret = LOAD_CASES[case]
    d = _copy(tiny, tmp_path / "bad", table, change)
    first = pd.read_csv(tiny / f"{table}.csv").iloc[0]
    hidden = [str(first[c]) for c in ("pupil_id", "teacher_id", "plan_id") if c in first and "first" in secret]
    with pytest.raises(DataValidationError) as info:
        load_dataset(d)
    msg = str(info.value)
    assert_clean_message(msg, *names, values=(PID, TID, PLAN, *hidden))
    assert "12345678901" not in msg and CODE not in msg


def test_validate_duplicate_key_names_rows_not_ids():
    df = pd.DataFrame({"plan_id": [PLAN, PLAN], "pupil_id": [PID, PID], "year": [2018, 2018],
                       "semester": [1, 1], "school_id": ["S0001", "S0001"], "risk_score": [70.0, 70.0],
                       "taken_up": [True, True]})
    with pytest.raises(DataValidationError) as info:
        validate(df, "support_plans", "plans.xlsx")
    assert_clean_message(str(info.value), "plans.xlsx", "duplicate (plan_id)", "2 rows: 1, 2")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVALTOOLS, "data", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("case", ["unknown_pupil_id", "unknown_plan_id", "ids_mapped_into_year"])
def test_data_check_cli_never_prints_ids(case, tiny, tmp_path):
    table, change, names, _ = LOAD_CASES[case]
    d = _copy(tiny, tmp_path / "bad", table, change)
    res = _cli("check", str(d))
    assert res.returncode == 2
    assert_clean_message(res.stdout + res.stderr, *names)


def test_data_check_cli_single_file_duplicate(tmp_path):
    f = tmp_path / "teachers.csv"
    row = {"teacher_id": TID, "sex": "F", "birth_year": 1980, "subject": "math", "engagement": 3.0,
           "im_alumnus": False, "im_cohort": None, "growth_programme_start": None, "entry_year": 2014}
    pd.DataFrame([row, row]).to_csv(f, index=False)
    res = _cli("check", str(f))
    assert res.returncode == 2
    assert_clean_message(res.stderr, "teachers.csv", "duplicate (teacher_id)", "rows: 1, 2")


@pytest.mark.parametrize("content,words", [
    (b"pupils:\n  skol\xe9na: pupil_id\n", ("not UTF-8", "map.yaml", "line 2")),
    (b"a: &x [pupil_id]\nb: *x\n", ("aliases", "map.yaml", "line 1")),
    (b"pupils: [unclosed\n", ("not valid YAML", "line", "map.yaml")),
    (b"pupils:\n  nr: pupil_id\n  nr: year\n", ("appears twice", "lines 2 and 3", "map.yaml")),
], ids=["mapping_not_utf8", "mapping_alias", "mapping_bad_yaml", "mapping_duplicate_key"])
def test_data_check_cli_bad_mapping_is_refused_cleanly(content, words, tmp_path):
    m = tmp_path / "map.yaml"
    m.write_bytes(content)
    res = _cli("check", str(SAMPLE), "--mapping", str(m))
    assert res.returncode == 2
    assert_clean_message(res.stderr, *words)


def test_data_check_warns_on_short_ids_and_pseudonymise_fixes_it(tmp_path):
    d = tmp_path / "extract"
    d.mkdir()
    pupils = pd.DataFrame({"nr": ["17", "18"], "sex": ["F", "M"], "birth_year": [2008, 2009],
                           "language": ["latvian"] * 2, "special_needs": [False] * 2,
                           "entry_year": [2015, 2016], "exit_year": [None, None], "exit_status": [None, None]})
    pupils.to_csv(d / "pupils.csv", index=False)
    m = tmp_path / "map.yaml"
    m.write_text("pupils:\n  nr: pupil_id\n", encoding="utf-8")
    res = _cli("check", str(d / "pupils.csv"), "--mapping", str(m))
    assert res.returncode == 0 and "warning: 2 identifier values" in res.stderr
    assert "evaltools data pseudonymise" in res.stderr
    key = tmp_path / "key.txt"
    key.write_text("k" * 32, encoding="utf-8")
    out = tmp_path / "pseudo"
    res = _cli("pseudonymise", str(d), "--out", str(out), "--mapping", str(m), "--key-file", str(key))
    assert res.returncode == 0, res.stderr
    assert "pupils.csv: nr" in res.stdout and "kkkk" not in res.stdout
    new = pd.read_csv(out / "pupils.csv", dtype=str)
    assert not set(new["nr"]) & {"17", "18"} and new["nr"].str.fullmatch(r"P[0-9a-f]{16}").all()
    res = _cli("check", str(out / "pupils.csv"), "--mapping", str(m))
    assert res.returncode == 0 and "warning" not in res.stderr


def test_pseudonymise_refuses_a_key_inside_the_data_folder(tmp_path):
    d = tmp_path / "extract"
    d.mkdir()
    (d / "key.txt").write_text("k" * 32, encoding="utf-8")
    res = _cli("pseudonymise", str(d), "--out", str(tmp_path / "o"), "--key-file", str(d / "key.txt"))
    assert res.returncode == 2 and "inside the data folder" in res.stderr and TRACEBACK not in res.stderr


def test_unreadable_data_file_message_is_clean(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    (d / "pupils.csv").write_bytes(b"pupil_id,sex\n" + CODE.encode() + b",F\n\xff\xfe\x00bad")
    with pytest.raises((DataValidationError, DataFileError)) as info:
        load_dataset(d)
    assert_clean_message(str(info.value), "pupils.csv", values=(CODE,))


def test_failed_run_on_a_renamed_extract_publishes_no_id(tmp_path):
    """End to end: an extract with its own id column name and an unknown id fails cleanly."""
    ext = tmp_path / "extract"
    ext.mkdir()
    for p in SAMPLE.glob("*.parquet"):
        df = pd.read_parquet(p)
        if p.stem == "pupil_years":
            df = df.rename(columns={"pupil_id": "skolena_pseidonims"})
            df.loc[5, "skolena_pseidonims"] = PID
        df.to_parquet(ext / p.name, index=False)
    project = tmp_path / "project"  # a scratch project: the checkout's reports/ is never touched
    project.mkdir()
    for name in ("notebooks", "params", "data"):
        (project / name).symlink_to(ROOT / name)
    res = subprocess.run([*EVALTOOLS, "--root", str(project), "run", "dropout_prevention", "--set", f"data_dir={ext}",
                          "--set", "mapping=params/mappings/pumpurs_extract_lv.yaml"],
                         capture_output=True, text=True, cwd=project, timeout=600)
    (run,) = [p for p in (project / "reports" / "dropout_prevention").iterdir() if not p.name.startswith(".")]
    _check_failed_run(res, run, ext)


def _check_failed_run(res: subprocess.CompletedProcess[str], run: Path, ext: Path) -> None:
    assert res.returncode == 1
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert_clean_message(manifest["error"]["message"], "pupil_years.parquet", "'pupil_id'", "1 id", "1 row: 6")
    assert_clean_message(res.stdout + res.stderr)
    index = run.parents[1] / "index.html"
    published = [p for p in run.rglob("*") if p.is_file()] + ([index] if index.exists() else [])
    assert not [p for p in published if PID.lower() in p.read_bytes().decode("utf-8", "replace").lower()]
    assert identifier_values({"data_dir": ext, "mapping": ROOT / "params/mappings/pumpurs_extract_lv.yaml"}) >= {PID}
