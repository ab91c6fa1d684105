"""The privacy gate (evaltools.report.privacy) and the identifier rules of the data layer."""
from __future__ import annotations

import io
import re
import zipfile
import zlib

import pandas as pd

from evaltools.data.errors import quote_values
from evaltools.data.io import read_identifiers
from evaltools.data.schemas import IDENTIFIER_COLUMNS, TABLES, ambiguous_id
from evaltools.report import privacy
from evaltools.report.privacy import describe_hits, find_identifiers, identifier_values, scan_file, scan_run
from tests import ROOT


def test_personal_codes_are_found_in_text():
    assert find_identifiers("kods 010203-12345, cits 32123412345.", set()) == ["010203-12345", "32123412345"]
    assert find_identifiers("Personas kods: 010942-53253.", set()) == ["010942-53253"]
    assert find_identifiers("Nr.01020312345", set()) == ["01020312345"]


def test_the_decimals_of_a_number_are_not_a_personal_code():
    # 11 decimals that start like a date (01.09.42) once made a cost CI fail the gate
    assert find_identifiers('{"ci_low": 5556.01094253253, "x": -0.01094253253}', set()) == []
    assert find_identifiers("0101011234567", set()) == []  # 13 digits: not a code
    assert find_identifiers("0,01094253253", set()) == []  # decimal comma


def test_identifier_values_are_found_as_whole_tokens():
    # matched case-insensitively: the values come back case-folded
    assert find_identifiers("pupil P00ab12cd3 left", {"P00ab12cd3"}) == ["p00ab12cd3"]
    assert find_identifiers("pupil P00ab12cd3x left", {"P00ab12cd3"}) == []
    assert find_identifiers("<td>7</td><td>17</td>", {"7"}) == ["7"]  # any length
    assert find_identifiers("2014-2023", {"2014"}) == ["2014"]


def test_identifier_columns_come_from_the_schemas():
    assert privacy.IDENTIFIER_COLUMNS is IDENTIFIER_COLUMNS
    marked = {c.name for t in TABLES.values() for c in t.columns if c.identifier}
    assert marked == {"pupil_id", "teacher_id", "plan_id"}
    assert "school_id" not in IDENTIFIER_COLUMNS and "personal_code" in IDENTIFIER_COLUMNS
    codebook = (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8")
    assert "| `plan_id` *identifier* |" in codebook and "| `school_id` *identifier*" not in codebook


def test_ambiguous_ids():
    assert ambiguous_id("17") and ambiguous_id("A7") and ambiguous_id("20240901") and ambiguous_id("2024-0901")
    assert not ambiguous_id("Pab12cd34ef") and not ambiguous_id("PL000001")


def test_quote_values_cuts_masks_and_hides():
    text = quote_values(["twelve", "x" * 40, "LV 010203-12345", "S0001"], limit=4, hide={"S0001"})
    assert text == "'twelve', '" + "x" * 23 + "…', 'LV <personal code>', <id-like value>"
    assert quote_values(["Pab12cd34ef", "12345678901", "12,5"]) == "<id-like value>, '12,5'"


def test_read_identifiers_follows_the_mapping_and_the_loaders_types(tmp_path):
    pd.DataFrame({"nr": [123.0, None, 456.0]}).to_csv(tmp_path / "pupils.csv", index=False)
    found = read_identifiers([tmp_path], {"pupils": {"nr": "pupil_id"}})
    assert {"123", "456"} <= found.values  # a whole float is loaded as '123'
    assert found.columns == {str(tmp_path / "pupils.csv"): ["nr"]}
    # the same column name in a table the mapping does not rename is no identifier
    assert read_identifiers([tmp_path], {"schools": {"nr": "school_id"}}).values == set()


def test_mapping_among_inputs_that_is_not_a_mapping_is_ignored(tmp_path):
    (tmp_path / "other.yaml").write_text("- a list\n- not a mapping\n", encoding="utf-8")
    pd.DataFrame({"pupil_id": ["Pab12cd34ef"]}).to_parquet(tmp_path / "pupils.parquet")
    assert set(identifier_values([tmp_path / "pupils.parquet", tmp_path / "other.yaml"])) == {"Pab12cd34ef"}


def test_describe_hits_names_files_and_counts_only():
    msg = describe_hits({"report.html": ["identifier", "identifier", "personal code"],
                         "tables/t.xlsx": ["file the gate cannot read"]})
    assert msg == "report.html: 1 personal code, 2 identifiers; tables/t.xlsx: 1 file the gate cannot read"


def test_a_file_name_with_an_id_is_withheld_in_the_result(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "Pab12cd34ef.csv").write_text("a\n1\n", encoding="utf-8")
    assert scan_run(tmp_path, {"Pab12cd34ef"}) == {"tables/<name withheld>.csv": ["identifier"]}


def test_zip_or_gzip_bomb_fails_the_gate(tmp_path, monkeypatch):
    import gzip

    monkeypatch.setattr(privacy, "MAX_INFLATED", 1000)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "0" * 600)
        zf.writestr("b.txt", "0" * 600)  # together over the cap
    (tmp_path / "t.xlsx").write_bytes(buf.getvalue())
    (tmp_path / "f.svgz").write_bytes(gzip.compress(b"0" * 2000))
    (tmp_path / "ok.svgz").write_bytes(gzip.compress(b"<svg>Pab12cd34ef</svg>"))
    assert scan_file(tmp_path / "t.xlsx", set()) == ["file the gate cannot read"]
    assert scan_file(tmp_path / "f.svgz", set()) == ["file the gate cannot read"]
    assert scan_file(tmp_path / "ok.svgz", {"Pab12cd34ef"}) == ["identifier"]


def test_unreadable_published_file_fails_the_gate(tmp_path):
    (tmp_path / "report.html").symlink_to(tmp_path / "missing.html")
    assert scan_run(tmp_path, set()) == {"report.html": ["file the gate cannot read"]}


def test_text_printed_in_a_pdf_is_read_as_a_reader_copies_it(tmp_path):
    """WeasyPrint writes glyph codes through subset fonts: an id in the page text is not in the
    PDF's bytes or its inflated streams, so the gate reads the pages' text (pypdf) too."""
    from weasyprint import HTML

    html = "<p>Skolēns Pab12cd34ef, personas kods 010203-12345.</p><p>Clean 4.5 % of 570.</p>"
    pdf = tmp_path / "report.pdf"
    HTML(string=html).write_pdf(pdf)
    data = pdf.read_bytes()
    streams = [zlib.decompress(m.group(1)).decode("latin-1")
               for m in re.finditer(rb"/FlateDecode.*?stream\r?\n(.*?)\r?\nendstream", data, re.S)]
    assert streams and not any("Pab12cd34ef" in s or "010203" in s for s in [data.decode("latin-1"), *streams])
    assert sorted(scan_file(pdf, {"Pab12cd34ef"})) == ["identifier", "personal code"]
    HTML(string="<p>4.5 % of 570 pupil-years</p>").write_pdf(tmp_path / "clean.pdf")
    assert scan_file(tmp_path / "clean.pdf", {"Pab12cd34ef"}) == []


def test_a_pdf_the_gate_cannot_parse_does_not_pass(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF")
    assert scan_file(tmp_path / "report.pdf", set()) == ["file the gate cannot read"]
