"""Pseudonymisation (HMAC-SHA256) and the ``data`` commands."""
from __future__ import annotations

import argparse
import hashlib
import hmac

import pandas as pd
import pytest

from evaltools.data import PseudonymKeyError, load_key, pseudonymise
from evaltools.data.cli import register
from tests import ROOT

KEY = "0123456789abcdef0123456789abcdef"
from tests.data._sample import SAMPLE  # noqa: E402


def test_pseudonym_is_hmac_sha256_of_normalised_code():
    out = pseudonymise(pd.Series(["010203-12345", "01020312345", None, "320000-00001"], name="code"), KEY)
    expected = "P" + hmac.new(KEY.encode(), b"01020312345", hashlib.sha256).hexdigest()[:16]
    assert out.iloc[0] == out.iloc[1] == expected
    assert out.iloc[2] is None and out.iloc[3] != expected and out.name == "code"


def test_other_key_other_pseudonym_and_not_a_plain_hash():
    codes = pd.Series(["01020312345"])
    a = pseudonymise(codes, KEY).iloc[0]
    b = pseudonymise(codes, KEY[::-1]).iloc[0]
    assert a != b
    assert a[1:] != hashlib.sha256(b"01020312345").hexdigest()[:16]


def test_key_sources_and_refusals(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(PseudonymKeyError, match="No pseudonymisation key"):
        load_key()
    with pytest.raises(PseudonymKeyError, match="at least 16"):
        load_key("short")
    monkeypatch.setenv("EVALTOOLS_PSEUDONYM_KEY", KEY)
    assert load_key() == KEY.encode()
    data = tmp_path / "extract"
    data.mkdir()
    inside = data / "key.txt"
    inside.write_text(KEY)
    with pytest.raises(PseudonymKeyError, match="inside the data folder"):
        load_key(key_file=inside, data_dir=data)
    outside = tmp_path / "key.txt"
    outside.write_text(KEY + "\n")
    assert load_key(key_file=outside, data_dir=data) == KEY.encode()


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evaltools")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_check_clean_and_broken(tmp_path, capsys):
    assert _run(["data", "check", str(SAMPLE / "schools.parquet")]) == 0
    assert f"OK, {len(pd.read_parquet(SAMPLE / 'schools.parquet'))} rows checked" in capsys.readouterr().out
    bad = tmp_path / "schools.csv"
    df = pd.read_parquet(SAMPLE / "schools.parquet")
    df.loc[3, "grade_max"] = 15
    df.drop(columns="urban").to_csv(bad, index=False)
    assert _run(["data", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "required column 'urban' is missing" in err and "value out of range" in err and "(1 row: 4)" in err


def test_cli_synth_writes_a_checkable_data_set(tmp_path, capsys):
    out = tmp_path / "s"
    assert _run(["data", "synth", "--scale", "sample", "--seed", "3", "--out", str(out)]) == 0
    assert (out / "true_effects.json").is_file() and (out / "pupil_years.parquet").is_file()
    # the full-directory check is exercised on the shipped sample (test_data_load); here one file
    assert _run(["data", "check", str(out / "pupil_years.parquet")]) == 0
    # another seed, other data
    other = pd.read_parquet(out / "pupil_years.parquet")
    shipped = pd.read_parquet(SAMPLE / "pupil_years.parquet")
    assert not other["pupil_id"].isin(shipped["pupil_id"]).any()
    assert len(other) != len(shipped)


def test_cli_synth_rejects_bad_region(tmp_path, capsys):
    assert _run(["data", "synth", "--scale", "region", "--region", "Atlantis", "--out", str(tmp_path)]) == 2
    assert "Unknown planning region 'Atlantis'" in capsys.readouterr().err
    assert _run(["data", "synth", "--region", "Latgale", "--out", str(tmp_path)]) == 2


# --- `evaltools data pseudonymise` (issue 19, item 4) ---------------------------------------

MAPPING = ROOT / "params" / "mappings" / "pumpurs_extract_lv.yaml"


def _extract(folder):
    """A small extract that names its id columns its own way (as the shipped Latvian mapping reads)."""
    folder.mkdir()
    pupils = pd.read_parquet(SAMPLE / "pupils.parquet").head(40)
    years = pd.read_parquet(SAMPLE / "pupil_years.parquet")
    years = years[years["pupil_id"].isin(pupils["pupil_id"])]
    pupils.rename(columns={"pupil_id": "skolena_pseidonims"}).to_csv(folder / "pupils.csv", index=False)
    years.rename(columns={"pupil_id": "skolena_pseidonims"}).to_parquet(folder / "pupil_years.parquet")
    (folder / "README.txt").write_text("extract notes")
    return pupils, years


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_pseudonymise_an_extract_with_a_key_file_and_a_mapping(tmp_path, capsys, monkeypatch):
    from evaltools.data.io import load

    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY_FILE", raising=False)
    pupils, years = _extract(tmp_path / "extract")
    before = _digest(tmp_path / "extract")
    key = tmp_path / "keys" / "evaltools.key"
    key.parent.mkdir()
    key.write_text(KEY)
    out = tmp_path / "pseudo"
    code = _run(["data", "pseudonymise", str(tmp_path / "extract"), "--out", str(out), "--key-file", str(key),
                 "--mapping", str(MAPPING)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert _digest(tmp_path / "extract") == before  # the source is untouched
    # counts, never a value or the key
    assert f"pupils.csv: skolena_pseidonims ({pupils['pupil_id'].nunique()} distinct); {len(pupils)} rows" in printed.out
    assert f"pupil_years.parquet: skolena_pseidonims ({years['pupil_id'].nunique():,} distinct); {len(years):,} rows" \
        in printed.out
    text = printed.out + printed.err + "".join(p.read_text(errors="ignore") for p in out.iterdir()
                                               if p.suffix in (".csv", ".txt"))
    assert KEY not in text and not any(pid in text for pid in pupils["pupil_id"])
    assert not any(KEY.encode() in p.read_bytes() for p in out.iterdir())
    # the same mapping reads the copy; the tables still link; other files are copied
    new_pupils = load(out / "pupils.csv", table="pupils", mapping=MAPPING)
    new_years = load(out / "pupil_years.parquet", table="pupil_years", mapping=MAPPING)
    assert set(new_years["pupil_id"]) <= set(new_pupils["pupil_id"])
    assert not set(new_pupils["pupil_id"]) & set(pupils["pupil_id"])
    assert new_pupils["pupil_id"].tolist() == pseudonymise(pupils["pupil_id"].reset_index(drop=True), KEY).tolist()
    assert (out / "README.txt").read_text() == "extract notes"


def test_cli_pseudonymise_takes_the_key_from_the_environment(tmp_path, capsys, monkeypatch):
    _extract(tmp_path / "extract")
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("EVALTOOLS_PSEUDONYM_KEY", KEY)
    assert _run(["data", "pseudonymise", str(tmp_path / "extract"), "--out", str(tmp_path / "a"),
                 "--mapping", str(MAPPING)]) == 0
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY")
    key = tmp_path / "k.txt"
    key.write_text(KEY)
    monkeypatch.setenv("EVALTOOLS_PSEUDONYM_KEY_FILE", str(key))
    assert _run(["data", "pseudonymise", str(tmp_path / "extract"), "--out", str(tmp_path / "b"),
                 "--mapping", str(MAPPING)]) == 0
    assert (tmp_path / "a" / "pupils.csv").read_bytes() == (tmp_path / "b" / "pupils.csv").read_bytes()


@pytest.mark.parametrize("where", ["same", "inside", "not empty", "key inside"])
def test_cli_pseudonymise_refuses_to_overwrite_the_source_or_keep_the_key_beside_it(tmp_path, capsys,
                                                                                  monkeypatch, where):
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("EVALTOOLS_PSEUDONYM_KEY_FILE", raising=False)
    src = tmp_path / "extract"
    _extract(src)
    key = tmp_path / "k.txt"
    key.write_text(KEY)
    out = {"same": src, "inside": src / "pseudo", "not empty": tmp_path / "full",
           "key inside": tmp_path / "new"}[where]
    if where == "not empty":
        out.mkdir()
        (out / "old.csv").write_text("x")
    if where == "key inside":
        key = src / "key.txt"
        key.write_text(KEY)
    before = _digest(src)
    code = _run(["data", "pseudonymise", str(src), "--out", str(out), "--key-file", str(key),
                 "--mapping", str(MAPPING)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ")
    assert _digest(src) == before
    assert {"same": "not empty", "inside": "is inside", "not empty": "not empty",
            "key inside": "inside the data folder"}[where] in err
    assert KEY not in err


def test_cli_pseudonymise_without_an_identifier_column_writes_nothing(tmp_path, capsys):
    src = tmp_path / "extract"
    src.mkdir()
    pd.read_parquet(SAMPLE / "pupils.parquet").head(5).rename(columns={"pupil_id": "kods"}).to_csv(
        src / "pupils.csv", index=False)
    key = tmp_path / "k.txt"
    key.write_text(KEY)
    code = _run(["data", "pseudonymise", str(src), "--out", str(tmp_path / "out"), "--key-file", str(key)])
    assert code == 2 and "no identifier column" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_readme_gives_pseudonymisation_as_the_first_step_for_a_real_extract():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**A real extract: pseudonymise it first.**", 1)[1].split("\n## ", 1)[0]
    assert "evaltools data pseudonymise" in section and "--key-file" in section
    first_run = readme.index("dropout_prevention_own_data.yaml")
    assert readme.index("evaltools data pseudonymise") < first_run  # before the own-extract run
