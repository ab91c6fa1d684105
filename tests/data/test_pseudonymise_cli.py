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
SAMPLE = ROOT / "data" / "sample"


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
    assert "OK, 85 rows checked" in capsys.readouterr().out
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
